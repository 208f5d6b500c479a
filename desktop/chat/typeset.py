"""Math typeset by matplotlib's mathtext (a TeX subset, bundled DejaVu/Computer Modern fonts; no network, no
LaTeX install) into PNG images the transcript's documents hold as resources. ``\\boxed{…}`` — how reasoning models
mark the final answer — is typeset inside a frame in the theme's accent. A formula mathtext cannot parse returns
None: the caller shows its source text instead."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

log = logging.getLogger(__name__)
_MATPLOTLIB = threading.Lock()  # mathtext's parser and font caches are shared: one formula at a time
MathKey = tuple[str, str, str, float]  # TeX, colour, boxed colour, points: the arguments of typeset()
SCALE = 2  # rendered at twice the size it is shown, so it stays sharp on high-DPI screens
DPI = 96 * SCALE  # points as the screen's text uses them (96 dpi), SCALE times over


@dataclass(frozen=True)
class Formula:
    """A typeset formula: its resource name, PNG bytes and the size to show it at (logical pixels)."""

    name: str
    png: bytes
    width: int
    height: int


def split_boxed(tex: str) -> list[tuple[str, bool]]:
    """``tex`` as parts, each with whether it was inside a top-level ``\\boxed{…}``.

    >>> split_boxed(r"x = \\boxed{4}")
    [('x = ', False), ('4', True)]
    """
    parts: list[tuple[str, bool]] = []
    rest = tex
    while (start := rest.find("\\boxed{")) >= 0:
        depth, i = 1, start + len("\\boxed{")
        while i < len(rest) and depth:
            depth += {"{": 1, "}": -1}.get(rest[i], 0)
            i += 1
        if depth:  # unbalanced: leave it for the parser to reject
            break
        if rest[:start].strip():
            parts.append((rest[:start], False))
        parts.append((rest[start + len("\\boxed{"):i - 1], True))
        rest = rest[i:]
    if rest.strip() or not parts:
        parts.append((rest, False))
    return parts


def _png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes; PySide6 takes str
    return bytes(data.data())


def _frame(png: bytes, color: str) -> bytes:
    """The image inside a rounded frame with some air around it."""
    inner = QImage.fromData(png)
    pad = 5 * SCALE
    out = QImage(inner.width() + 2 * pad, inner.height() + 2 * pad, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(color)
    fill.setAlpha(28)
    painter.setBrush(fill)
    painter.setPen(QPen(QColor(color), 1.5 * SCALE))
    painter.drawRoundedRect(QRectF(SCALE, SCALE, out.width() - 2 * SCALE, out.height() - 2 * SCALE),
                            4 * SCALE, 4 * SCALE)
    painter.drawImage(pad, pad, inner)
    painter.end()
    return _png(out)


def _mathtext(tex: str, color: str, points: float) -> bytes | None:
    from matplotlib import rc_context  # imported on first use: starting the window stays fast
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image

    out = io.BytesIO()
    try:
        with _MATPLOTLIB, rc_context({"savefig.transparent": True}):  # on the theme's background, light or dark
            math_to_image(f"${tex}$", out, prop=FontProperties(size=points), dpi=DPI, format="png",
                          color=color)
    except (ValueError, KeyError, IndexError, RuntimeError) as err:  # parse errors, glyphs mathtext lacks: the
        # caller shows the source text (an exception must not escape: the transcript draws this while painting)
        log.debug("Formula not typeset (%s): %s", err, tex)
        return None
    return out.getvalue()


@lru_cache(maxsize=1024)
def typeset(tex: str, color: str, boxed_color: str, points: float = 11.0) -> tuple[Formula, ...] | None:
    """``tex`` (without its $ or \\[ delimiters) as images in ``color``, boxed parts framed in ``boxed_color``;
    None when it cannot be typeset (unsupported or invalid TeX)."""
    tex = " ".join(tex.split())
    if not tex:
        return None
    formulas = []
    for part, boxed in split_boxed(tex):
        if not part.strip():
            continue
        png = _mathtext(part, color, points)
        if png is None:
            return None
        if boxed:
            png = _frame(png, boxed_color)
        image = QImage.fromData(png)
        digest = hashlib.sha1(png).hexdigest()[:16]
        formulas.append(Formula(f"ponder-math:{digest}.png", png, max(1, image.width() // SCALE),
                                max(1, image.height() // SCALE)))
    return tuple(formulas) or None
