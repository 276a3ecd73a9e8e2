"""Entry point of the frozen app: the same as the ``nnstudio`` command."""
import multiprocessing
import sys

from nnstudio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # joblib/loky workers re-enter the executable
    sys.exit(main())
