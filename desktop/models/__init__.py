"""The Models page (catalog, downloads, installed models) and the first-run Welcome page."""

from desktop.models.page import ModelsPage
from desktop.models.welcome import WelcomePage

__all__ = ["ModelsPage", "WelcomePage"]
