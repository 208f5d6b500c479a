"""Reading text from images (scanned PDF pages, pictures in Word files) with RapidOCR on ONNX Runtime.

RapidOCR (``rapidocr``, Apache-2.0) ships its PP-OCR detection, orientation and recognition models (Chinese and
English, ONNX) inside its wheel; :class:`OcrReader` points it at those files by path, so it never downloads
anything, and runs them on the CPU provider of Ponder's ONNX Runtime. It runs only inside the parsing sandbox
(:mod:`engine.documents.sandbox`), which refuses every connection and has the telemetry switches of
:mod:`engine.system.privacy` in its environment before ONNX Runtime loads.

What comes back is the text of each line in reading order and, for each word (each character in Chinese), its box
in the pixels of the image that was read: :class:`OcrText` puts a page's lines together and keeps those boxes as
spans of the page's text, so a citation can show the page image with the passage's boxes highlighted.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.documents.extract.common import DocumentError, Limits

# Scanned pages are rendered at this resolution for OCR and for the source view (the boxes are in these pixels).
OCR_DPI = 200
MIN_SCORE = 0.5  # recognition confidence under which a line is dropped (noise, stamps, pictures)
_DET_SIDE = 1600  # the detector sees the image scaled so its longest side is at most this
# One or two "characters" taller than this (pixels; an inch at 200 dpi) are a shape or a photo, not text: the
# recogniser reads a grey square as "1" with high confidence.
_SHAPE_HEIGHT = 200


@dataclass
class OcrLine:
    """One recognised line: its text, confidence, rectangle, and its words with their rectangles."""

    text: str
    score: float
    box: tuple[int, int, int, int]
    words: list[tuple[str, tuple[int, int, int, int]]] = field(default_factory=list)


@dataclass
class OcrText:
    """The text of one image: lines joined by newlines, with each word's span in ``text`` and its box."""

    text: str
    words: list[tuple[int, int, tuple[int, int, int, int]]]

    @classmethod
    def from_lines(cls, lines: list[OcrLine]) -> OcrText:
        parts: list[str] = []
        words: list[tuple[int, int, tuple[int, int, int, int]]] = []
        pos = 0
        for line in lines:
            text = line.text.strip()
            if not text:
                continue
            if parts:
                parts.append("\n")
                pos += 1
            cursor = 0
            found_any = False
            for word, box in line.words:
                word = word.strip()
                at = text.find(word, cursor) if word else -1
                if at < 0:
                    continue
                words.append((pos + at, pos + at + len(word), box))
                cursor = at + len(word)
                found_any = True
            if not found_any:  # no word boxes: the whole line is one box
                words.append((pos, pos + len(text), line.box))
            parts.append(text)
            pos += len(text)
        return cls("".join(parts), words)

    def boxes(self, page: int | None, base: int) -> list[list[Any]]:
        """The word boxes as rows of :attr:`Extracted.ocr_boxes`, for a document that has this text at ``base``."""
        return [[page, base + a, base + b, *box] for a, b, box in self.words]


def _rect(points: Any) -> tuple[int, int, int, int]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return int(min(xs)), int(min(ys)), round(max(xs)), round(max(ys))


def ocr_threads() -> int:
    """Threads for the OCR sessions: the cores there are, at most four (the models are small; more do not pay)."""
    return max(1, min(4, os.cpu_count() or 1))


class OcrReader:
    """RapidOCR with the models of its own wheel, loaded on first use; one per parsing process."""

    def __init__(self) -> None:
        self._engine: Any = None

    @staticmethod
    def models() -> dict[str, Path]:
        """The detection, orientation and recognition model files that ship in the ``rapidocr`` wheel."""
        from importlib.util import find_spec

        spec = find_spec("rapidocr")
        if spec is None or not spec.submodule_search_locations:
            raise DocumentError("OCR is not installed (the rapidocr package is missing).",
                                "Reinstall Ponder; its installer brings OCR.")
        folder = Path(next(iter(spec.submodule_search_locations))) / "models"
        found = {"det": sorted(folder.glob("*det*.onnx")), "cls": sorted(folder.glob("*cls*.onnx")),
                 "rec": sorted(folder.glob("*rec*.onnx"))}
        missing = [k for k, v in found.items() if not v]
        if missing:
            raise DocumentError(f"OCR models are missing from {folder} ({', '.join(missing)}).",
                                "Reinstall Ponder; its installer brings the OCR models.")
        return {k: v[-1] for k, v in found.items()}

    def _load(self) -> Any:
        if self._engine is None:
            from rapidocr import RapidOCR

            models = self.models()
            threads = ocr_threads()
            self._engine = RapidOCR(params={
                "Global.log_level": "error",
                # The line-orientation classifier turned an upright first line of a test page by 180° (garbling
                # it) and costs time; scans are upright, and a page scanned upside down is the rare case.
                "Global.use_cls": False,
                "Global.model_root_dir": str(models["det"].parent),
                "Det.model_path": str(models["det"]), "Cls.model_path": str(models["cls"]),
                "Rec.model_path": str(models["rec"]),
                "Det.limit_type": "max", "Det.limit_side_len": _DET_SIDE,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            })
        return self._engine

    def read(self, image: Any) -> OcrText:
        """Recognise the text of a PIL image: lines top to bottom, each left to right, with word boxes."""
        import numpy as np

        engine = self._load()
        rgb = np.asarray(image.convert("RGB"))
        result = engine(rgb, return_word_box=True)
        if result is None or not getattr(result, "txts", None):
            return OcrText("", [])
        words = result.word_results if len(result.word_results) == len(result.txts) else [()] * len(result.txts)
        lines: list[OcrLine] = []
        for text, score, points, line_words in zip(result.txts, result.scores, result.boxes, words, strict=True):
            rect = _rect(points)
            if float(score) < MIN_SCORE or not str(text).strip():
                continue
            if len(str(text).strip()) <= 2 and rect[3] - rect[1] > _SHAPE_HEIGHT:
                continue
            boxes = [(str(w[0]), _rect(w[2])) for w in line_words if w and w[2] is not None]
            lines.append(OcrLine(str(text), float(score), rect, boxes))
        return OcrText.from_lines(_reading_order(lines))


def _reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Sort lines top to bottom; lines whose vertical middles are within half a line height are one row, read
    left to right (columns side by side are read row by row, as a simple scan reader does)."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        if rows:
            last = rows[-1][0]
            height = max(1, last.box[3] - last.box[1])
            if abs(middle - (last.box[1] + last.box[3]) / 2) < height / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.box[0])]


def open_image(data: bytes, what: str, limits: Limits) -> Any:
    """Decode an image for OCR (PIL), refusing decompression bombs and damaged data with a clear message; ``what``
    names it in messages ("page 3 of 'scan.pdf'")."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > limits.max_image_pixels:
                raise DocumentError(f"The image on {what} is {width:,}×{height:,} pixels, over the "
                                    f"{limits.max_image_pixels:,}-pixel limit (a decompression bomb or a huge scan).",
                                    "Scan it again at a lower resolution (300 dpi is plenty) and add that.")
            image = probe.convert("RGB")
            image.load()
            return image
    except DocumentError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DocumentError(f"The image on {what} cannot be decoded ({type(exc).__name__}: {str(exc)[:120]}).",
                            "The file may be damaged; re-save it from the program that made it.") from exc
