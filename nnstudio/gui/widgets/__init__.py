"""Views shared by more than one panel: message bar, themed plot, image grid, sample browser,
spin boxes, plot export. A view that one panel alone shows lives in that panel's folder."""
