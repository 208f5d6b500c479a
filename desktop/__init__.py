"""Ponder's PySide6 desktop app. It talks to ``engine`` only through engine's public functions."""
