"""``python -m engine.cli``: the ``ponder`` subcommands without the desktop entry point."""

import sys

from engine.cli import main

sys.exit(main())
