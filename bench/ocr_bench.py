"""Benchmark: OCR of a full scanned A4 page, seconds per page and how much of the text comes back.

A page is drawn here as a scanner would deliver it: A4 at 200 dpi (1654×2339 px), 11 pt text (DejaVu Sans for
English, Noto Sans CJK SC for Chinese) in lines of prose from Python's own docstrings (English) or a fixed Chinese
paragraph, saved as an image-only PDF (no text layer). Each page is read the way indexing reads it: rendered by
PDFium at 200 dpi and recognised by RapidOCR (``engine.documents.extract.pdf_ocr``), in this process (``--sandbox``:
through the parsing sandbox, as ``ponder docs add`` does, which adds the child's start and model load once per
file). Reports seconds per page (after a first page that loads the models) and the character accuracy (1 - edit
distance / length, whitespace ignored) against the text drawn.

Usage: python bench/ocr_bench.py [--pages 2] [--lang en|zh|both] [--det-side 1600] [--sandbox]
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import itertools
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFont

from engine.documents.extract import Limits
from engine.documents.extract import ocr as ocr_module
from engine.documents.extract.pdf_ocr import ocr_pdf_pages
from engine.documents.sandbox import extract_steps
from tests.fixtures.scans import font_file

A4 = (1654, 2339)
CHINESE = ("文档在放下的那一刻就可以搜索，中文和英文一样好用。扫描的页面通过光学字符识别读取，每一页都显示进度，"
           "并且有页数限制。引用扫描页面时会打开页面图像，并突出显示段落所在的位置。索引分为两个阶段：首先提交文件的文本"
           "和关键词索引，然后在后台计算向量。检索会融合已经准备好的内容，并对候选结果重新排序。")


def english_lines(count: int, width: int = 80) -> list[str]:
    import json

    text = " ".join(" ".join((inspect.getdoc(obj) or "").split()) for obj in (json, textwrap, difflib, argparse))
    return textwrap.wrap(text, width)[:count]


def chinese_lines(count: int, width: int = 38) -> list[str]:
    text = CHINESE * (count * width // len(CHINESE) + 1)
    return [text[i:i + width] for i in range(0, count * width, width)]


def page(lines: list[str], chinese: bool) -> Image.Image:
    size = round(11 / 72 * 200)  # 11 pt at 200 dpi
    path = font_file(chinese)
    font = ImageFont.truetype(str(path), size, index=2 if path.suffix == ".ttc" else 0)
    image = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(image)
    for k, line in enumerate(lines):
        draw.text((160, 180 + k * round(size * 1.6)), line, fill=0, font=font)
    return image.convert("RGB")


def accuracy(expected: str, got: str) -> float:
    a, b = "".join(expected.split()), "".join(got.split())
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--lang", choices=["en", "zh", "both"], default="both")
    parser.add_argument("--det-side", type=int, default=ocr_module._DET_SIDE)
    parser.add_argument("--sandbox", action="store_true")
    args = parser.parse_args()
    ocr_module._DET_SIDE = args.det_side
    for lang in (["en", "zh"] if args.lang == "both" else [args.lang]):
        lines = english_lines(45) if lang == "en" else chinese_lines(40)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"a4-{lang}.pdf"
            images = [page(lines, lang == "zh") for _ in range(args.pages)]
            images[0].save(path, "PDF", resolution=200, save_all=True, append_images=images[1:])
            stamps: list[float] = []
            start = time.perf_counter()
            if args.sandbox:
                steps = extract_steps(path, Limits(), timeout_s=600)
                try:
                    while True:
                        next(steps)
                        stamps.append(time.perf_counter())
                except StopIteration as stop:
                    texts = [s.text for s in stop.value.sections]
            else:
                read = ocr_pdf_pages(path, f"'{path.name}'", list(range(1, args.pages + 1)), Limits(),
                                     lambda done, total, marks=stamps: marks.append(time.perf_counter()))
                texts = [read[n][0].text for n in sorted(read)]
            total = time.perf_counter() - start
            per_page = [b - a for a, b in itertools.pairwise(stamps)]
            expected = "\n".join(lines)
            acc = [accuracy(expected, t) for t in texts]
            later = per_page[1:] or per_page
            print(f"{lang}: {args.pages} A4 page(s), {len(expected)} characters each, det side {args.det_side}: "
                  f"total {total:.1f} s; first page {per_page[0]:.1f} s (loads the models); "
                  f"then {sum(later) / max(1, len(later)):.1f} s/page; accuracy "
                  + ", ".join(f"{a:.3f}" for a in acc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
