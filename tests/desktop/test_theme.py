"""The look: both palettes pass WCAG contrast for every text/background pair people read, the theme switches (and
follows the system), the navigation rail has icons and labels, and the UI font sets Chinese beside English."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QFont, QFontDatabase, QFontMetricsF, QPalette
from PySide6.QtWidgets import QApplication

from desktop.nav import NavRail
from desktop.theme import DARK, LIGHT, READ_PAIRS, UI_FAMILIES, apply_theme, contrast_ratio, current_tokens, ui_font


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the known 4.5:1 grey


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_every_text_pair_of_both_themes_is_readable(theme: Any) -> None:
    failing = [(fg, bg, round(contrast_ratio(getattr(theme, fg), getattr(theme, bg)), 2), minimum)
               for fg, bg, minimum in READ_PAIRS
               if contrast_ratio(getattr(theme, fg), getattr(theme, bg)) < minimum]
    assert not failing, f"text/background pairs below their WCAG minimum: {failing}"


def test_theme_switch_changes_palette_style_sheet_and_rail_icons(qtbot: Any, app_look: QApplication) -> None:
    rail = NavRail()
    qtbot.addWidget(rail)
    rail.add("Chat", "chat")
    rail.add("Models", "models")
    rail.show()
    apply_theme(app_look, "light", 10)
    assert current_tokens() == LIGHT and LIGHT.surface in app_look.styleSheet()
    light_icon = rail.item(0).icon().pixmap(22, 22).toImage()
    apply_theme(app_look, "dark", 10)
    assert current_tokens() == DARK and DARK.surface in app_look.styleSheet()
    assert app_look.palette().color(QPalette.ColorRole.Window).name() == DARK.window
    qtbot.waitUntil(lambda: rail.item(0).icon().pixmap(22, 22).toImage() != light_icon, timeout=3000)
    # "system" follows the colour scheme the platform reports (offscreen: not dark)
    apply_theme(app_look, "system", 10)
    dark_now = app_look.styleHints().colorScheme().name == "Dark"
    assert current_tokens() == (DARK if dark_now else LIGHT)


def test_rail_acts_like_a_list_with_icons_and_labels(qtbot: Any) -> None:
    rail = NavRail()
    qtbot.addWidget(rail)
    for name in ("chat", "models", "settings"):
        rail.add(name.title(), name)
    with qtbot.waitSignal(rail.currentRowChanged) as blocker:
        rail.setCurrentRow(2)
    assert blocker.args == [2] and rail.currentRow() == 2 and rail.item(2).isChecked()
    assert not rail.item(0).icon().isNull() and rail.item(0).text() == "Chat"
    assert all(rail.item(i).accessibleName() for i in range(rail.count()))


def test_ui_font_sets_chinese_beside_english(qapp: QApplication) -> None:
    font = ui_font(QFont(), 11)
    assert font.pointSize() == 11 and font.families() == list(UI_FAMILIES)
    installed = set(QFontDatabase.families())
    assert any(f in installed for f in UI_FAMILIES if "CJK" in f or "YaHei" in f or "PingFang" in f or "Hei" in f), \
        "no CJK face of the UI font list is installed on this machine"
    metrics = QFontMetricsF(font)
    assert metrics.inFontUcs4(ord("中")) or QFontMetricsF(QFont("Noto Sans CJK SC")).inFontUcs4(ord("中"))
    assert metrics.horizontalAdvance("中文") > metrics.horizontalAdvance("ab")  # real glyphs, not empty boxes
