"""Translations: Ponder's own (resources/translations/ponder_<lang>.qm) and Qt's (standard dialogs, menus).

Install the translator before creating any window: a changed language applies when Ponder restarts.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from engine.system.resources import resource_path

log = logging.getLogger(__name__)
TRANSLATED = ("zh_CN",)


def translation_for(language: str, system_locale: str | None = None) -> str | None:
    """The translation to load for the language setting ("system", "en" or "zh_CN"); None means English."""
    if language in TRANSLATED:
        return language
    if language == "system":
        name = system_locale if system_locale is not None else QLocale.system().name()
        if name.startswith("zh"):
            return "zh_CN"
    return None


def install_translator(app: QCoreApplication, language: str) -> QTranslator | None:
    """Load and install Ponder's translator for ``language`` (and Qt's own strings); None when English is used
    or the translation file is missing. The translators are children of ``app``, so they live as long as it."""
    lang = translation_for(language)
    if lang is None:
        return None
    path = resource_path("translations", f"ponder_{lang}.qm")
    translator = QTranslator(app)
    if not translator.load(str(path)):
        log.warning("No translation file at %s; using English.", path)
        translator.deleteLater()
        return None
    app.installTranslator(translator)
    qt = QTranslator(app)
    if qt.load(QLocale(lang), "qt", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
    else:
        qt.deleteLater()
    return translator


def remove_translators(app: QCoreApplication) -> None:
    """Uninstall the translators :func:`install_translator` added (English again for windows created next)."""
    for translator in app.findChildren(QTranslator):
        app.removeTranslator(translator)
        translator.deleteLater()
