"""The headless ``ponder`` subcommands. (``desktop.launch`` is the console entry point: with no arguments it
opens the window, otherwise it hands the arguments here.)

One module per command group, each holding its ``cmd_*`` functions and the ``add_*`` functions that add their
subcommands to the parser: :mod:`.models` (models, pull, convert, rm), :mod:`.run` (run, bench), :mod:`.docs`,
:mod:`.serve` (serve, remote) and :mod:`.system` (devices, token, network); :mod:`.common` holds what they share.
Each command imports what it needs when it runs, so ``ponder --help`` stays fast."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from engine._version import __version__
from engine.cli import docs, models, run, serve, system
from engine.cli.common import ProgressPrinter, Subparsers
from engine.system.errors import PonderError

__all__ = ["ProgressPrinter", "build_parser", "main"]

COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    models.add_models, models.add_pull, models.add_convert, system.add_devices, run.add_run, run.add_bench,
    docs.add_docs, models.add_rm, system.add_token, serve.add_serve, system.add_network, serve.add_remote,
)
"""Every subcommand, in the order ``ponder --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The ``ponder`` argument parser."""
    parser = argparse.ArgumentParser(prog="ponder", description="Private AI on your own computer.")
    parser.add_argument("--version", action="version", version=f"Ponder {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command")
    for add in COMMANDS:
        add(sub)
    return parser


def _apply_privacy(command: str) -> None:
    """Offline mode from the settings (the environment can still force it) and this process's name in the
    Network activity list."""
    from engine.system import network_log, privacy
    from engine.system.settings import load_settings

    privacy.set_offline(load_settings().offline)
    network_log.set_process_label(f"ponder {command}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ponder`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_convert-worker"]:  # the frozen app re-enters itself to run a conversion stage
        from engine.models.convert.worker import main as worker_main

        return worker_main(argv[1:])
    if argv[:1] == ["_extract-worker"]:  # ... and to parse a document in a sandboxed child
        from engine.documents.sandbox import main as extract_main

        return int(extract_main() or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        _apply_privacy(args.command)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("\nCancelled. Run the same command again to resume where it stopped.", file=sys.stderr)
        return 130
    except PonderError as err:
        print(f"ponder: {err}", file=sys.stderr)
        return 1
