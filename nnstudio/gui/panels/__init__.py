"""The five workflow panels, in order. Each module can be run on its own for a preview."""

PANELS = [
    # key, title, module, class, one-line description for the sidebar tooltip
    ("data", "Data", "nnstudio.gui.panels.data.panel", "DataPanel", "Load FITS or tables, choose inputs and target, split"),
    ("model", "Model", "nnstudio.gui.panels.model.panel", "ModelPanel", "Build the network layer by layer"),
    ("train", "Train", "nnstudio.gui.panels.train.panel", "TrainPanel", "Train in the background with live curves"),
    ("diagnostics", "Diagnostics", "nnstudio.gui.panels.diagnostics.panel", "DiagnosticsPanel",
     "Confusion matrix, ROC/PR, regression views on held-out data"),
    ("uncertainty", "Uncertainty", "nnstudio.gui.panels.uncertainty.panel", "UncertaintyPanel",
     "Error bars, calibration, conformal sets"),
]
