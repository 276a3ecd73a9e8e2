"""The Model panel and the views only it shows: diagram, layer table, layer form, activation plot."""
