"""Files shipped with the app: the icon and the bundled example data."""
