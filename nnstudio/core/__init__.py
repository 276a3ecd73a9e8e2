"""Qt-free heart of nnstudio: data, model specs, training, evaluation, projects, examples.

Nothing here imports PySide6, shiboken6, pyqtgraph or nnstudio.gui (a test checks it in a fresh
subprocess). TensorFlow, astropy and scikit-learn are imported inside the functions that need them.
"""
