"""The one place Ponder's version is defined."""

__version__ = "0.1.0"
