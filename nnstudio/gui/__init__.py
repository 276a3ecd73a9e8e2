"""The Qt front end (PySide6 + pyqtgraph). It presents ``nnstudio.core`` and holds no science.

``app`` starts the application, ``window`` holds the panels (``panels/``, one folder each),
``theme`` the look, ``widgets/`` the views that several panels share.
"""
