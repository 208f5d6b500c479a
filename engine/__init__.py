"""Ponder's engine: everything that is not GUI. It never imports PySide6."""

from engine._version import __version__

__all__ = ["__version__"]
