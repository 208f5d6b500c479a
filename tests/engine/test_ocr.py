"""OCR of scanned pages and of pictures in Word files: a scan rendered by the test from known English and Chinese
text into an image-only PDF is indexed (real sandbox, real RapidOCR models on ONNX Runtime, real embedder), found
by search, and its citation located on its page with the words' boxes where the test drew them; the page limit,
a damaged picture, a time limit and cancel are refused or stopped clearly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from engine.documents.embed import Embedder
from engine.documents.extract import DocumentError, Limits, extract
from engine.documents.index import DocumentIndex
from engine.documents.locate import locate, page_image
from engine.documents.pipeline import IndexProgress, IndexStage, index_paths
from engine.documents.retrieve import retrieve
from engine.documents.sandbox import Quarantine, extract_steps
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled
from tests.fixtures.embedder import embedder_dir
from tests.fixtures.scans import SCAN_DPI, docx_with_picture, line_boxes, picture_of, scanned_pdf

__all__ = ["embedder_dir"]
ENGLISH = "Rayleigh scattering makes the sky blue"
CHINESE = "天空是蓝色的因为瑞利散射"
RENDER = 200 / SCAN_DPI  # the sandbox renders scanned pages at 200 dpi: the scan's pixels times two


def test_scanned_pdf_is_read_found_and_cited_at_its_page(tmp_path: Path, embedder_dir: Path) -> None:
    scan = scanned_pdf(tmp_path / "scan.pdf", [[ENGLISH], [CHINESE]])
    index, embedder = DocumentIndex(tmp_path / "d.db"), Embedder(embedder_dir)
    seen: list[IndexProgress] = list(index_paths(index, [scan], embedder, collection="c"))
    ocr = [(p.done, p.total) for p in seen if p.stage == IndexStage.OCR]
    assert ocr == [(0, 2), (1, 2), (2, 2)]  # a step per scanned page, for the bar and `ponder docs add`
    assert seen[-1].stage == IndexStage.INDEXED

    english = retrieve(index, embedder, "c", "Rayleigh scattering")[0].hit
    assert english.page == 1 and ENGLISH.lower() in english.text.lower()
    chinese = retrieve(index, embedder, "c", "瑞利散射")[0].hit
    assert chinese.page == 2 and CHINESE in chinese.text.replace(" ", "")

    start = time.monotonic()
    passage = locate(Path(english.path), english.start, english.end, english.text)
    assert time.monotonic() - start < 2  # what OCR read is kept: the citation opens without reading the scan again
    assert passage.page == 1 and passage.scanned(1) and not passage.moved
    boxes = passage.boxes(1)
    assert len(boxes) >= 5  # a box per word
    drawn = [round(v * RENDER) for v in line_boxes([ENGLISH])[0]]
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    slack = 12 * RENDER
    assert abs(left - drawn[0]) < slack and abs(right - drawn[2]) < slack, (boxes, drawn)
    assert abs(top - drawn[1]) < 2 * slack and abs(bottom - drawn[3]) < 2 * slack, (boxes, drawn)

    png = page_image(Path(english.path), 1)
    with Image.open(__import__("io").BytesIO(png)) as image:
        assert image.size == passage.document.ocr_pages[1]
        assert image.convert("L").getpixel((right + 30, (top + bottom) // 2)) > 200  # white beyond the words
        ink = image.convert("L").crop((left, top, right, bottom)).getextrema()
        assert ink[0] < 80  # and the words' pixels are inside the boxes

    zh = locate(Path(chinese.path), chinese.start, chinese.end, chinese.text)
    assert zh.page == 2 and len(zh.boxes(2)) >= len(CHINESE) - 1  # a box per character


def test_picture_in_a_word_file_is_read_where_it_stands(tmp_path: Path) -> None:
    path = docx_with_picture(tmp_path / "memo.docx", "Before the picture.", picture_of([ENGLISH]),
                             "After the picture.")
    doc = extract(path, Limits())
    texts = [s.text for s in doc.sections]
    assert texts[0] == "Before the picture." and texts[-1] == "After the picture."
    assert ENGLISH.lower() in texts[1].lower()
    assert doc.ocr_boxes and all(row[0] is None for row in doc.ocr_boxes)  # no page: boxes on the picture


def test_damaged_picture_refused_clearly(tmp_path: Path) -> None:
    broken = picture_of([ENGLISH])[:200]  # a PNG cut short
    path = docx_with_picture(tmp_path / "broken.docx", "Text.", broken, "More text.")
    with pytest.raises(DocumentError, match=r"image1\.png in 'broken\.docx' cannot be decoded") as err:
        extract(path, Limits())
    assert "damaged" in err.value.hint


def test_page_limit_refused_before_reading(tmp_path: Path) -> None:
    scan = scanned_pdf(tmp_path / "long.pdf", [[ENGLISH], [ENGLISH], [ENGLISH]])
    start = time.monotonic()
    with pytest.raises(DocumentError, match=r"3 scanned pages .* over the 2-page OCR limit") as err:
        extract(scan, Limits(max_ocr_pages=2), progress=lambda done, total: pytest.fail("OCR started"))
    assert time.monotonic() - start < 5
    assert "Split it" in err.value.hint


def test_huge_picture_refused(tmp_path: Path) -> None:
    path = docx_with_picture(tmp_path / "huge.docx", "Text.", picture_of([ENGLISH]), "More.")
    with pytest.raises(DocumentError, match="pixel limit"):
        extract(path, Limits(max_image_pixels=10_000))


def test_cancel_stops_the_ocr_child(tmp_path: Path) -> None:
    scan = scanned_pdf(tmp_path / "scan.pdf", [[ENGLISH]] * 6)
    cancel = CancelToken()
    steps = extract_steps(scan, cancel=cancel)
    assert next(steps) == (0, 6)  # the parse is done, OCR is starting
    threading.Timer(0.3, cancel.cancel).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        for _ in steps:
            pass
    assert time.monotonic() - start < 10  # not the minutes six pages would take on a slow machine
    assert Quarantine().reason(scan) is None  # cancelling is not the file's fault


def test_ocr_time_limit_per_page(tmp_path: Path) -> None:
    scan = scanned_pdf(tmp_path / "slow.pdf", [[ENGLISH, CHINESE, ENGLISH]])
    with pytest.raises(DocumentError, match=r"longer than 0\.05 s.*quarantined"):
        for _ in extract_steps(scan, ocr_page_s=0.05):
            pass
    assert Quarantine().reason(scan) is not None
