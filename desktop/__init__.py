"""Ponder's PySide6 desktop app. It talks to ``engine`` only through engine's public functions."""

import engine  # noqa: F401  (first: it switches library telemetry off before anything can load it; engine.system.privacy)
