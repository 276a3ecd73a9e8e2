"""nnstudio: from your own data to a trained, honestly diagnosed neural network."""

__version__ = "0.1.0"
