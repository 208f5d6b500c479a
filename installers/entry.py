"""Entry point of the frozen app (PyInstaller runs this file as ``__main__``).

The same executable is the window (no arguments), the ``ponder`` command (subcommands) and the worker processes it
starts for conversions, document parsing and the chat's math (``_convert-worker`` / ``_extract-worker`` /
``_math-worker``): ``desktop.launch`` sends each to the right place and imports Qt only for the window.
"""

import multiprocessing
import sys

from desktop.launch import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
