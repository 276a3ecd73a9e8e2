"""The Qt front end (PySide6 + pyqtgraph). It presents ``nnstudio.core`` and holds no science."""
