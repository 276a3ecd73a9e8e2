"""The Predict panel: a trained run on new data, its catalog and the candidates exported."""
