"""Draw Ponder's app icon and write every format the installers need into ``resources/icons/``.

Run it again after changing the drawing: ``.venv/bin/python installers/make_icons.py``. The icon is plain shapes
(no fonts), so every machine draws the same pixels: a violet rounded square with a white thought bubble holding
three dots. Qt renders the PNGs; the ICO and ICNS containers are written here by hand (both may hold PNG data).
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath

OUT = Path(__file__).resolve().parent.parent / "resources" / "icons"
TOP, BOTTOM, DOT = "#7C3AED", "#4338CA", "#5B21B6"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512, b"ic10": 1024}

# The drawing on a 1024-unit canvas, shared by the PNG painter and the SVG below.
BG_RADIUS = 224
BUBBLE = (192, 232, 640, 448, 200)  # x, y, w, h, corner radius
TAIL = ((336, 672), (304, 800), (448, 680))
SMALL_BUBBLES = ((232, 846, 44), (168, 920, 26))  # cx, cy, r: the "thought" trail
DOTS = ((352, 456), (512, 456), (672, 456))
DOT_R = 52


def draw(size: int) -> QImage:
    """The icon as a ``size`` x ``size`` ARGB image."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 1024, size / 1024)
    grad = QLinearGradient(0, 0, 0, 1024)
    grad.setColorAt(0, QColor(TOP))
    grad.setColorAt(1, QColor(BOTTOM))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(grad))
    p.drawRoundedRect(QRectF(0, 0, 1024, 1024), BG_RADIUS, BG_RADIUS)
    p.setBrush(QColor("white"))
    x, y, w, h, r = BUBBLE
    bubble = QPainterPath()
    bubble.addRoundedRect(QRectF(x, y, w, h), r, r)
    tail = QPainterPath()
    tail.moveTo(*TAIL[0])
    for point in TAIL[1:]:
        tail.lineTo(*point)
    tail.closeSubpath()
    p.drawPath(bubble.united(tail))
    for cx, cy, cr in SMALL_BUBBLES:
        p.drawEllipse(QPointF(cx, cy), cr, cr)
    p.setBrush(QColor(DOT))
    for cx, cy in DOTS:
        p.drawEllipse(QPointF(cx, cy), DOT_R, DOT_R)
    p.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def svg() -> str:
    x, y, w, h, r = BUBBLE
    tail = " ".join(f"{a},{b}" for a, b in TAIL)
    small = "".join(f'<circle cx="{cx}" cy="{cy}" r="{cr}" fill="#fff"/>' for cx, cy, cr in SMALL_BUBBLES)
    dots = "".join(f'<circle cx="{cx}" cy="{cy}" r="{DOT_R}" fill="{DOT}"/>' for cx, cy in DOTS)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024" viewBox="0 0 1024 1024">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{TOP}"/>'
        f'<stop offset="1" stop-color="{BOTTOM}"/></linearGradient></defs>'
        f'<rect width="1024" height="1024" rx="{BG_RADIUS}" fill="url(#g)"/>'
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{r}" fill="#fff"/>'
        f'<polygon points="{tail}" fill="#fff"/>{small}{dots}</svg>\n'
    )


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico whose entries are PNG images (Vista and later read them)."""
    header = struct.pack("<HHH", 0, 1, len(ICO_SIZES))
    offset = 6 + 16 * len(ICO_SIZES)
    entries, blobs = b"", b""
    for s in ICO_SIZES:
        blob = pngs[s]
        dim = 0 if s >= 256 else s  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns whose entries are PNG images (10.7 and later)."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for kind, s in ICNS_TYPES.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    pngs = {s: png_bytes(draw(s)) for s in PNG_SIZES}
    for s in (16, 32, 48, 64, 128, 256, 512):
        (OUT / f"ponder-{s}.png").write_bytes(pngs[s])
    (OUT / "ponder.png").write_bytes(pngs[256])
    (OUT / "ponder.svg").write_text(svg(), encoding="utf-8")
    (OUT / "ponder.ico").write_bytes(ico(pngs))
    (OUT / "ponder.icns").write_bytes(icns(pngs))
    print(f"icons written to {OUT}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
