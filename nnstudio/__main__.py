"""`python -m nnstudio` is the same as the `nnstudio` command."""
import sys

from nnstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
