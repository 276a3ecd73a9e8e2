"""Reusable views: message bar, table model, image grid, plot helpers, forms."""
