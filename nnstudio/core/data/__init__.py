"""Data: readers (a registry), Dataset, inspection and preparation (splits, scalers).

Submodules import astropy inside functions, so importing this package stays cheap.
"""
