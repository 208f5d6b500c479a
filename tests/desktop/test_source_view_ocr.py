"""The source view of a citation of a scanned page: it opens on the page image with the passage's words
highlighted where they are on the page (boxes found by OCR), the recognised text on the other tab; a page with a
text layer shows no image tab. Real sandboxed OCR, real embedder, real index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.documents.source_view import SourceDialog
from desktop.workers import BackgroundJobs, InferenceThread
from engine.documents.embed import Embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import index_paths
from engine.documents.retrieve import retrieve
from tests.fixtures.documents import text_pdf
from tests.fixtures.embedder import embedder_dir
from tests.fixtures.scans import SCAN_DPI, line_boxes, scanned_pdf

__all__ = ["embedder_dir"]
ENGLISH = "Puffins nest on steep sea cliffs"


def test_citation_of_a_scanned_page_opens_its_image_with_the_passage_highlighted(
        qtbot: Any, runners: tuple[InferenceThread, BackgroundJobs], tmp_path: Path, embedder_dir: Path,
        themed: Any, screenshots: Path) -> None:
    _, jobs = runners
    scan = scanned_pdf(tmp_path / "scan.pdf", [[ENGLISH, "Gannets dive for fish"]])
    typed = text_pdf(tmp_path / "typed.pdf", ["Capybaras are the largest rodents."])
    index, embedder = DocumentIndex(tmp_path / "d.db"), Embedder(embedder_dir)
    for _ in index_paths(index, [scan, typed], embedder, collection="c"):
        pass
    source = retrieve(index, embedder, "c", "puffins sea cliffs")[0]
    assert Path(source.hit.path).name == "scan.pdf"

    dialog = SourceDialog({**source.to_dict(), "number": 1}, jobs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: bool(dialog.highlighted_boxes()) or "Could not" in dialog.where.text(), timeout=60000)
    assert dialog.page == 1 and "page 1 of 1" in dialog.where.text()
    assert dialog.tabs.isTabVisible(0) and dialog.tabs.currentWidget() is dialog.image
    assert not dialog.image.image.isNull()
    boxes = dialog.highlighted_boxes()
    drawn = [round(v * 200 / SCAN_DPI) for v in line_boxes([ENGLISH, "Gannets dive for fish"])[0]]
    assert min(b[1] for b in boxes) < drawn[3] and max(b[3] for b in boxes) > drawn[1]  # on the cited line
    assert ENGLISH.lower() in dialog.highlighted_text().lower()  # the text tab highlights it too
    dialog.grab().save(str(screenshots / "source-view-scan.png"))
    dialog.close()

    typed_source = retrieve(index, embedder, "c", "largest rodents capybaras")[0]
    assert Path(typed_source.hit.path).name == "typed.pdf"
    plain = SourceDialog({**typed_source.to_dict(), "number": 2}, jobs)
    qtbot.addWidget(plain)
    plain.show()
    qtbot.waitUntil(lambda: plain.passage is not None or "Could not" in plain.where.text(), timeout=30000)
    assert not plain.tabs.isTabVisible(0) and plain.highlighted_boxes() == []
    assert "Capybaras are the largest rodents." in plain.highlighted_text()
    plain.close()
