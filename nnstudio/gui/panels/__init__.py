"""The six workflow panels, in order: ``PANELS`` is what the window builds its sidebar from.

Each panel is a folder: ``panel.py`` (run it with ``python -m`` for a preview, ``--dark`` for the
dark theme) beside the views only that panel shows. Views shared by panels are in ``gui.widgets``.
"""

PANELS = [
    # key, title, module, class, one-line description for the sidebar tooltip
    ("data", "Data", "nnstudio.gui.panels.data.panel", "DataPanel", "Load FITS or tables, choose inputs and target, split"),
    ("model", "Model", "nnstudio.gui.panels.model.panel", "ModelPanel", "Build the network layer by layer"),
    ("train", "Train", "nnstudio.gui.panels.train.panel", "TrainPanel", "Train in the background with live curves"),
    ("diagnostics", "Diagnostics", "nnstudio.gui.panels.diagnostics.panel", "DiagnosticsPanel",
     "Confusion matrix, ROC/PR, regression views on held-out data"),
    ("uncertainty", "Uncertainty", "nnstudio.gui.panels.uncertainty.panel", "UncertaintyPanel",
     "Error bars, calibration, conformal sets"),
    ("predict", "Predict", "nnstudio.gui.panels.predict.panel", "PredictPanel",
     "Put a trained model to work on new data: a catalog of predictions"),
]
