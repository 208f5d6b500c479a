"""The Settings page."""

from desktop.settings.page import SettingsPage

__all__ = ["SettingsPage"]
