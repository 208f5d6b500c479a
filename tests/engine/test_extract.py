"""Document extraction: correct text and sections, and hostile files refused safely inside the sandbox."""

from __future__ import annotations

import http.server
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from engine.documents.extract import DocumentError, Extracted, Limits, extract
from engine.documents.sandbox import Quarantine, extract_in_sandbox
from tests.fixtures import documents as docs


def _spans_ok(doc: Extracted) -> None:
    assert doc.sections
    for s in doc.sections:
        assert doc.text[s.start:s.end] == s.text


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 1 GB-inflating bombs are slow to build, so build them once."""
    root = tmp_path_factory.mktemp("bombs")
    return {"pdf": docs.pdf_bomb(root / "bomb.pdf"), "docx": docs.docx_zip_bomb(root / "bomb.docx")}


def test_pdf_pages_and_spans(tmp_path: Path) -> None:
    pages = ["Alpha page one", "Beta (second) page\nwith two lines", "Gamma third"]
    doc = extract_in_sandbox(docs.text_pdf(tmp_path / "three.pdf", pages))
    assert doc.kind == "pdf"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert "Beta (second) page" in doc.sections[1].text and "with two lines" in doc.sections[1].text
    assert doc.sections[2].text == "Gamma third"
    _spans_ok(doc)


def test_docx_heading_paths_and_table(tmp_path: Path) -> None:
    doc = extract_in_sandbox(docs.docx_with_headings(tmp_path / "report.docx"))
    _spans_ok(doc)
    by_text = {s.text: s.heading for s in doc.sections}
    assert doc.title == "Annual Report"
    assert by_text["Some background facts."] == ("Annual Report", "Introduction", "Background")
    assert by_text["The numbers follow."] == ("Annual Report", "Results")  # Heading1 closes the Heading2
    assert by_text["Latency | 42 ms"] == ("Annual Report", "Results")


def test_markdown_headings(tmp_path: Path) -> None:
    doc = extract_in_sandbox(docs.markdown_file(tmp_path / "guide.md"))
    _spans_ok(doc)
    by_text = {s.text: s.heading for s in doc.sections}
    assert by_text["Use the AppImage."] == ("Guide", "Install", "Linux")
    assert by_text[docs.INJECTION] == ("Guide", "Use")
    assert not any("not a heading" in h for s in doc.sections for h in s.heading)  # code fence is not a heading


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[int, list[str]]]:
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Recorder.hits
    finally:
        server.shutdown()
        server.server_close()


def test_html_no_fetch_no_script_injection_is_plain_text(tmp_path: Path, loopback: tuple[int, list[str]]) -> None:
    port, hits = loopback
    doc = extract_in_sandbox(docs.hostile_html(tmp_path / "notes.html", port=port))
    _spans_ok(doc)
    assert doc.title == "Field Notes"
    assert "SECRET_SCRIPT_TEXT" not in doc.text and "background" not in doc.text
    assert "the link text" in doc.text and "http://" not in doc.text
    by_text = {s.text: s.heading for s in doc.sections}
    assert by_text[docs.INJECTION] == ("Chapter One", "Part A")
    assert by_text["The end."] == ("Chapter Two",)
    time.sleep(0.2)
    assert hits == []


def test_encrypted_pdf_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="encrypted"):
        extract_in_sandbox(docs.encrypted_pdf(tmp_path / "locked.pdf", ["top secret"]))


def test_image_only_pdf_without_text_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no text layer, and OCR found no text on its 1 page"):
        extract_in_sandbox(docs.image_only_pdf(tmp_path / "scan.pdf", pages=1))


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_bombs_rejected_fast_within_memory(kind: str, bombs: dict[str, Path]) -> None:
    start = time.monotonic()
    with pytest.raises(DocumentError, match="bomb") as err:
        extract_in_sandbox(bombs[kind], timeout_s=10, memory_mb=512)
    assert time.monotonic() - start < 10
    assert "quarantined" not in str(err.value)  # refused by the limits, not by a crash


def test_docx_ratio_checked_before_decompressing(tmp_path: Path) -> None:
    bomb = docs.docx_zip_bomb(tmp_path / "small-bomb.docx", inflated_bytes=50 << 20)  # under the size limit
    with pytest.raises(DocumentError, match="100:1"):
        extract(bomb, Limits())
    with pytest.raises(DocumentError, match="expands to 50 MB"):  # declared size over the limit, ratio allowed
        extract(bomb, Limits(max_unzipped_bytes=10 << 20, max_ratio=10_000))
    within = Limits(max_ratio=10_000, max_chars=100 << 20)
    assert extract(bomb, within).text.startswith("AAAA")  # within every limit: read


@pytest.mark.parametrize("builder", [docs.docx_billion_laughs, docs.docx_xxe])
def test_xml_entity_attacks_refused(tmp_path: Path, builder: object) -> None:
    path = builder(tmp_path / "evil.docx")  # type: ignore[operator]
    with pytest.raises(DocumentError, match="entity") as err:
        extract_in_sandbox(path, timeout_s=10)
    assert "root:" not in str(err.value)


def test_unknown_type_and_disguised_png_refused(tmp_path: Path) -> None:
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    with pytest.raises(DocumentError, match=r"not a supported.*Supported: PDF"):
        extract_in_sandbox(exe)
    with pytest.raises(DocumentError, match=r"not a PDF.*PNG"):
        extract_in_sandbox(docs.png_named_pdf(tmp_path / "photo.pdf"))
    fake = tmp_path / "notes.txt"
    fake.write_bytes(docs.png_named_pdf(tmp_path / "x.pdf").read_bytes())
    with pytest.raises(DocumentError, match="PNG"):
        extract(fake, Limits())


def test_text_encodings(tmp_path: Path) -> None:
    cases = {"u8.txt": "héllo wörld".encode(), "bom.txt": b"\xef\xbb\xbfh\xc3\xa9llo w\xc3\xb6rld",
             "u16.txt": "héllo wörld".encode("utf-16"), "latin.txt": "héllo wörld".encode("latin-1")}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert extract(tmp_path / name, Limits()).text == "héllo wörld", name


@pytest.mark.parametrize("name", ["line\nbreak.md", "ünïcødé 文档.txt", "-rf --help.txt", "  spaced name .html"])
def test_hostile_file_names(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("# Title\n\nBody text here.\n", encoding="utf-8")
    doc = extract_in_sandbox(path)
    assert Path(doc.path).name == name
    assert "Body text here." in doc.text


def test_hostile_name_is_reported_in_errors(tmp_path: Path) -> None:
    path = docs.image_only_pdf(tmp_path / "-evil\nname.pdf", pages=1)
    with pytest.raises(DocumentError) as err:
        extract_in_sandbox(path)
    assert repr("-evil\nname.pdf") in str(err.value)


def test_crash_quarantines_then_release_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = docs.text_pdf(tmp_path / "crashy.pdf", ["fine text"])
    monkeypatch.setenv("PONDER_TEST_CRASH_EXTRACT", "1")
    with pytest.raises(DocumentError, match=r"crashed.*quarantined"):
        extract_in_sandbox(path)
    quarantine = Quarantine()
    assert quarantine.reason(path) is not None
    monkeypatch.delenv("PONDER_TEST_CRASH_EXTRACT")
    start = time.monotonic()
    with pytest.raises(DocumentError, match="is quarantined"):
        extract_in_sandbox(path)  # refused at once, no child started
    assert time.monotonic() - start < 0.5
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(DocumentError, match="is quarantined"):
        extract_in_sandbox(copy)
    assert quarantine.release(path)
    assert extract_in_sandbox(path).sections[0].text == "fine text"


def test_hang_killed_at_timeout_and_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slow.txt"
    path.write_text("hello", encoding="utf-8")
    monkeypatch.setenv("PONDER_TEST_HANG_EXTRACT", "1")
    start = time.monotonic()
    with pytest.raises(DocumentError, match="longer than 2 s"):
        extract_in_sandbox(path, timeout_s=2)
    assert time.monotonic() - start < 6
    assert Quarantine().reason(path) is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only")
def test_memory_limit_is_enforced_in_child(tmp_path: Path) -> None:
    """A document far bigger than the child's memory: a clean refusal or out-of-memory error, never a hang."""
    path = tmp_path / "big.txt"
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(150):
            fh.write(("word " * 200 + "\n\n") * 1000)
    with pytest.raises(DocumentError, match="out of memory"):
        extract_in_sandbox(path, memory_mb=200, timeout_s=30)
    assert Quarantine().reason(path) is not None


def test_html_pre_keeps_its_line_breaks(tmp_path: Path) -> None:
    page = tmp_path / "code.html"
    page.write_text("<h1>API</h1><p>Some   words\nwrapped.</p><pre>def f():\n    return 1\n</pre><p>end</p>")
    doc = extract(page)
    assert [s.text for s in doc.sections] == ["API", "Some words wrapped.", "def f():\n    return 1", "end"]
