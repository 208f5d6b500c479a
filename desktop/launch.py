"""The ``ponder`` command: no arguments opens the window; anything else runs the headless CLI.

This module imports no Qt at load time, so headless commands never pay for (or need) a display.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Open the GUI when called without arguments, else run ``engine.cli``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from desktop.app import main as gui_main

        return gui_main()
    if args[:1] == ["_math-worker"]:  # the frozen app re-enters itself to typeset the chat's math
        from desktop.chat.math_worker import serve

        return serve()
    from engine.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
