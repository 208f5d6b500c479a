"""EPUB, PPTX, XLSX, CSV, RTF and source code: real files built by the test are read with their headings (and
slides as pages), and a hostile variant of each is refused with a clear message, through the sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.documents.chunk import chunk_sections
from engine.documents.extract import SUPPORTED, DocumentError, Extracted, Limits, extract
from engine.documents.locate import locate
from engine.documents.sandbox import extract_in_sandbox
from tests.fixtures import document_builders as build


def _spans_ok(doc: Extracted) -> None:
    assert doc.sections
    for s in doc.sections:
        assert doc.text[s.start:s.end] == s.text


def _headings(doc: Extracted) -> dict[str, tuple[str, ...]]:
    return {s.text: s.heading for s in doc.sections}


def test_every_new_format_is_supported() -> None:
    for ext in (".epub", ".pptx", ".xlsx", ".csv", ".tsv", ".rtf", ".py", ".js", ".ts", ".java", ".c", ".cpp", ".h",
                ".go", ".rs", ".rb", ".sh", ".sql", ".json", ".yaml", ".yml", ".toml"):
        assert ext in SUPPORTED, ext


# ---- EPUB ------------------------------------------------------------------------------------------------------

def test_epub3_chapters_in_spine_order_with_nav_titles(tmp_path: Path) -> None:
    doc = extract_in_sandbox(build.epub3(tmp_path / "book.epub"))
    _spans_ok(doc)
    assert doc.kind == "epub" and doc.title == "The Lighthouse Keeper"
    assert [s.text for s in doc.sections] == [
        "Chapter One: Arrival", "The keeper came to the island in spring.", "The Lamp",
        "The lamp burned whale oil & needed trimming nightly.", "Waves rose over the rocks.",
        "The light never went out.", "Years later the lighthouse was automated."]
    by_text = _headings(doc)
    assert by_text["The keeper came to the island in spring."] == ("Chapter One: Arrival",)  # <h1> = nav title
    assert by_text["The lamp burned whale oil & needed trimming nightly."] == ("Chapter One: Arrival", "The Lamp")
    assert by_text["Waves rose over the rocks."] == ("Chapter Two: The Storm",)  # no <h1>: the nav title heads it
    assert by_text["Years later the lighthouse was automated."] == ("Epilogue",)  # href with %20 resolved


def test_epub2_ncx_titles_despite_doctype(tmp_path: Path) -> None:
    doc = extract(build.epub2(tmp_path / "old.epub"))
    _spans_ok(doc)
    assert doc.title == "Two Parts"
    assert _headings(doc) == {"First part text.": ("Part I",), "Details": ("Part II", "Details"),
                              "Second part text.": ("Part II", "Details")}


def test_epub_zip_bomb_refused_fast(tmp_path: Path) -> None:
    bomb = build.epub_zip_bomb(tmp_path / "bomb.epub", inflated_bytes=300 << 20)
    start = time.monotonic()
    with pytest.raises(DocumentError, match=r"compressed .*:1, over the 100:1 safety limit \(a zip bomb") as err:
        extract_in_sandbox(bomb, timeout_s=10, memory_mb=512)
    assert time.monotonic() - start < 10
    assert "quarantined" not in str(err.value)


def test_epub_entity_expansion_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="entity"):
        extract_in_sandbox(build.epub_billion_laughs(tmp_path / "laughs.epub"), timeout_s=10)


# ---- PPTX ------------------------------------------------------------------------------------------------------

def test_pptx_one_section_per_slide_title_heading_slide_page(tmp_path: Path) -> None:
    doc = extract_in_sandbox(build.pptx(tmp_path / "deck.pptx"))
    _spans_ok(doc)
    assert doc.kind == "pptx" and doc.title == "Q2 Review"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert [s.heading for s in doc.sections] == [("Quarterly Review",), ("Revenue",), ("Slide 3",)]
    assert doc.sections[0].text == "Quarterly Review\nSecond quarter, 2026"
    assert doc.sections[1].text == ("Revenue\nGrew 12% over the quarter\nEurope led\nRegion | Sales\nEurope | 4.2M\n"
                                    "Notes: Mention the new Lisbon office.")
    assert doc.sections[2].text == "Questions welcome"  # inside a group shape
    assert "7" not in doc.sections[1].text.split("\n")  # the slide-number placeholder is not content


def test_pptx_chunks_never_cross_slides(tmp_path: Path) -> None:
    doc = extract(build.pptx(tmp_path / "deck.pptx"))
    chunks = chunk_sections(doc.sections, lambda t: len(t.split()), max_tokens=200)
    assert [c.page for c in chunks] == [1, 2, 3]


def test_pptx_citation_opens_at_its_slide(tmp_path: Path) -> None:
    path = build.pptx(tmp_path / "deck.pptx")
    doc = extract(path)
    start = doc.text.index("Europe | 4.2M")
    passage = locate(path, start, start + len("Europe | 4.2M"), "Europe | 4.2M")
    assert (passage.page, passage.heading, passage.moved) == (2, ("Revenue",), False)
    assert passage.pages == [1, 2, 3]


def test_pptx_entry_count_bomb_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"10,001 parts, over the 10,000 part limit"):
        extract_in_sandbox(build.pptx_many_parts(tmp_path / "many.pptx"), timeout_s=20)


def test_old_binary_office_file_named_pptx_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.pptx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(DocumentError, match=r"not a PowerPoint \(.pptx\) file .*old Office") as err:
        extract(path)
    assert "save it as .pptx" in str(err.value)


# ---- XLSX and CSV ----------------------------------------------------------------------------------------------

def test_xlsx_sheets_as_headed_rows_with_column_names(tmp_path: Path) -> None:
    doc = extract_in_sandbox(build.xlsx(tmp_path / "book.xlsx"))
    _spans_ok(doc)
    assert doc.kind == "xlsx" and doc.title == "book"
    assert [(s.heading, s.text) for s in doc.sections] == [
        (("Staff",), "Columns: Name | Role | Started | Notes"),
        (("Staff",), "Name: Ada Lovelace | Role: Analyst | Started: 2024-01-01"),
        (("Staff",), "Name: Grace Hopper | Role: Admiral | Started: 2024-02-01 | Notes: on leave"),
        (("Budget",), "Columns: Item | Cost | Approved"),
        (("Budget",), "Item: Servers | Cost: 1250.5 | Approved: TRUE | D: 25%"),
        (("Budget",), "Item: Travel | Cost: #DIV/0! | Approved: FALSE"),
    ]


def test_xlsx_without_header_names_columns_by_letter(tmp_path: Path) -> None:
    doc = extract(build.xlsx_rows(tmp_path / "numbers.xlsx", 3))
    assert [s.text for s in doc.sections] == ["A: 1 | B: 2", "A: 2 | B: 4", "A: 3 | B: 6"]
    assert {s.heading for s in doc.sections} == {("Data",)}


def test_xlsx_too_many_rows_refused(tmp_path: Path) -> None:
    path = build.xlsx_rows(tmp_path / "big.xlsx", 500)
    with pytest.raises(DocumentError, match=r"more than 400 table rows"):
        extract(path, Limits(max_rows=400))
    with pytest.raises(DocumentError, match=r"more than 900 filled cells"):
        extract(path, Limits(max_cells=900))


def test_xlsx_entity_expansion_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="entity") as err:
        extract_in_sandbox(build.xlsx_rows(tmp_path / "laughs.xlsx", 2, laughs=True), timeout_s=10)
    assert "Excel never writes these" in str(err.value)


@pytest.mark.parametrize(("delimiter", "suffix"), [(",", ".csv"), (";", ".csv"), ("\t", ".tsv")])
def test_csv_rows_keep_header_names(tmp_path: Path, delimiter: str, suffix: str) -> None:
    doc = extract_in_sandbox(build.csv_file(tmp_path / f"cities{suffix}", delimiter))
    _spans_ok(doc)
    inside = "" if delimiter == "\t" else delimiter  # a tab inside a cell becomes a space, like a line break
    assert doc.kind == "csv"
    assert [s.text for s in doc.sections] == [
        "Columns: city | country | population",
        f"city: Paris{inside} Île-de-France | country: France | population: 2102650",
        "city: Lisbon | country: Portugal",
        "city: Kyoto old capital | country: Japan | population: 1464890"]
    assert {s.heading for s in doc.sections} == {("cities",)}


def test_csv_too_many_rows_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"more than 200,000 table rows, over the limit"):
        extract_in_sandbox(build.csv_rows(tmp_path / "huge.csv", 200_001), timeout_s=30)


def test_binary_named_csv_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(1, 256)) * 40)  # no NUL byte, no known magic: decodes as Latin-1
    with pytest.raises(DocumentError, match="binary"):
        extract(path)


# ---- RTF -------------------------------------------------------------------------------------------------------

def test_rtf_text_headings_and_title(tmp_path: Path) -> None:
    doc = extract_in_sandbox(build.rtf(tmp_path / "report.rtf"))
    _spans_ok(doc)
    assert doc.kind == "rtf" and doc.title == "Field Report"
    assert [(s.heading, s.text) for s in doc.sections] == [
        (("Findings",), "Findings"),
        (("Findings",), "The café opened in May; visitors said \u201cgreat\u201d."),
        (("Findings", "In Chinese"), "In Chinese"),
        (("Findings", "In Chinese"), "The word is 中文."),
        (("Appendix",), "Appendix"),
        (("Appendix",), "Metric | Value"),
        (("Appendix",), "Last line\nsecond line"),
    ]
    for hidden in ("Times New Roman", "Someone", "Page header", "89504e47", "Normal", "Titre"):
        assert hidden not in doc.text


def test_rtf_code_page_bytes_by_font_charset_list_numbers_nested_cells(tmp_path: Path) -> None:
    doc = extract(build.rtf_cjk(tmp_path / "zh.rtf"))
    _spans_ok(doc)
    assert [s.text for s in doc.sections] == ["中文检索 works", "10.\tTrade and other receivables", "inner a | inner b"]
    assert "SimSun" not in doc.text


def test_rtf_deep_nesting_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"nests groups more than 1,000 deep"):
        extract_in_sandbox(build.rtf_deep(tmp_path / "deep.rtf"), timeout_s=20)


def test_not_rtf_named_rtf_refused(tmp_path: Path) -> None:
    path = tmp_path / "letter.rtf"
    path.write_text("Dear reader, this is plain text.", encoding="utf-8")
    with pytest.raises(DocumentError, match=r"not an RTF file"):
        extract(path)


# ---- Source code -----------------------------------------------------------------------------------------------

def test_python_sections_follow_definitions(tmp_path: Path) -> None:
    path = tmp_path / "inventory.py"
    path.write_text(build.PYTHON_SOURCE, encoding="utf-8")
    doc = extract_in_sandbox(path)
    _spans_ok(doc)
    assert doc.kind == "code" and doc.title == "inventory.py"
    assert [s.heading for s in doc.sections] == [
        (), ("class Store",), ("class Store", "def __init__(self) -> None"),
        ("class Store", "def add(self, name: str) -> None"), ("def load(path)",)]
    assert doc.sections[0].text == '"""Inventory helpers."""\n\nimport json\n\nLIMIT = 10'
    assert doc.sections[2].text.startswith("    def __init__")  # indentation kept
    assert doc.sections[3].text.startswith("    # Add one item.\n    def add")  # its comment goes with it
    assert "def nested" in doc.sections[3].text  # a nested function is not a heading
    assert doc.sections[4].text.startswith("@cache\ndef load(path):")  # its decorator goes with it


def test_js_sql_json_yaml_headings(tmp_path: Path) -> None:
    def headings_of(name: str, source: str) -> list[tuple[str, ...]]:
        path = tmp_path / name
        path.write_text(source, encoding="utf-8")
        doc = extract(path)
        _spans_ok(doc)
        return [s.heading for s in doc.sections]

    assert headings_of("reader.js", build.JS_SOURCE) == [
        (), ("export function parse(text)",), ("export class Reader",), ("export class Reader", "constructor(path)"),
        ("export class Reader", "read()"), ("const total = (xs) => xs.reduce((a, b) => a + b, 0)",)]
    assert headings_of("shop.sql", build.SQL_SOURCE) == [
        ("CREATE TABLE customers",), ("create index customers_name on customers(name)",),
        ("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id))",)]
    assert headings_of("package.json", build.JSON_SOURCE) == [
        (), ('"name": "ponder"',), ('"version": "1.0"',), ('"build"',)]
    assert headings_of("ci.yaml", build.YAML_SOURCE) == [("name: build",), ("on",), ("jobs",)]


@pytest.mark.parametrize(("name", "expected"), [
    ("a.go", [(), ("type Point struct",), ("func (p Point) String() string",), ("func main()",)]),
    ("a.rs", [(), ("pub struct Point { x: i32 }",), ("impl fmt::Display for Point",),
              ("impl fmt::Display for Point", "fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result"),
              ("pub async fn run() -> Result<(), String>",)]),
    ("A.java", [(), ("public class A",), ("public class A", "public String toString()"),
                ("public class A", "public static void main(String[] args)")]),
    ("a.c", [(), ("struct counter",), ("static int add(int a, int b)",), ("int main(void)",)]),  # not the prototype
    ("a.sh", [(), ("build()",), ("function clean",)]),
    ("a.toml", [("[project]",), ("[tool.ruff]",), ("[[tool.mypy.overrides]]",)]),
])
def test_more_languages_headings(tmp_path: Path, name: str, expected: list[tuple[str, ...]]) -> None:
    path = tmp_path / name
    path.write_text(build.SOURCES[name], encoding="utf-8")
    doc = extract(path)
    _spans_ok(doc)
    assert [s.heading for s in doc.sections] == expected
    assert " ".join(doc.text.split()) == " ".join(build.SOURCES[name].split())  # every line kept


@pytest.mark.parametrize("head", [b"\x7fELF\x02\x01\x01", b"MZ\x90\x00", b"\x89PNG\r\n\x1a\n"])
def test_binary_renamed_as_source_refused(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "tool.py"
    path.write_bytes(head + bytes(range(1, 200)) * 10)
    with pytest.raises(DocumentError, match=r"is named \.py but is really a"):
        extract_in_sandbox(path)


def test_binary_without_magic_renamed_as_source_refused(tmp_path: Path) -> None:
    path = tmp_path / "blob.go"
    path.write_bytes(bytes(range(1, 256)) * 100)
    with pytest.raises(DocumentError, match=r"looks like a binary file.*control characters"):
        extract_in_sandbox(path)
