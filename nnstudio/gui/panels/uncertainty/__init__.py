"""The Uncertainty panel."""
