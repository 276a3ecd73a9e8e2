"""Where nnstudio writes its log: ``$XDG_STATE_HOME/nnstudio/nnstudio.log``."""
from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "nnstudio"


def log_path() -> Path:
    return state_dir() / "nnstudio.log"


_configured = False


def setup_logging(level: int = logging.INFO) -> Path:
    """Send the ``nnstudio`` loggers to the rotating log file (once per process)."""
    global _configured
    path = log_path()
    if _configured:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2,
                                                       encoding="utf-8")
    except OSError:
        return path
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("nnstudio")
    root.addHandler(handler)
    root.setLevel(level)
    _configured = True
    return path
