"""The Diagnostics panel and the confusion-matrix heatmap only it shows."""
