"""Offline mode as the window shows it: one sentence for every button it switches off.

:mod:`engine.system.privacy` enforces it for the whole process; the main window keeps it in step with the Settings
switch.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from engine.system import privacy


def offline_note() -> str:
    """Why downloads and remote engines are off right now, in the window's language; "" when they are on."""
    forced = privacy.offline_forced_by()
    if forced:
        return QCoreApplication.translate(
            "Offline", "Offline mode is on ({0}=1 is set in the environment): Ponder connects to nothing beyond "
                       "this computer.").format(forced)
    if privacy.is_offline():
        return QCoreApplication.translate(
            "Offline", "Offline mode is on: Ponder connects to nothing beyond this computer. Turn it off in "
                       "Settings › Privacy and network.")
    return ""
