"""Ponder's engine: everything that is not GUI. It never imports PySide6.

Importing it first switches off library telemetry and installs the offline guard (see :mod:`engine.system.privacy`):
every
Ponder process imports this package before it can import ONNX Runtime or the Hugging Face libraries.
"""

from engine.system import privacy

privacy.quiet_libraries()
privacy.install_guard()

from engine._version import __version__  # noqa: E402  (after the telemetry switches, on purpose)

__all__ = ["__version__"]
