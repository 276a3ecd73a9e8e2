"""The lesson dock beside the panels and the snapshot of the session its checks read."""
