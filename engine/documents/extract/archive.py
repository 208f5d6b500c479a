"""Zip-of-XML formats (DOCX, PPTX, XLSX, EPUB): a zip opened with bomb checks, and XML parsed without entities.

Every zip-based reader goes through :class:`SafeZip`, which refuses, before inflating anything, an archive with
too many entries, a member whose declared size would pass the unzipped budget, or a large member compressed beyond
``Limits.max_ratio``; it then inflates in chunks and stops as soon as the running total passes the budget, so a
lying header cannot get past it either. :func:`parse_xml` refuses DTD entity declarations (billion laughs) and
external entities (XXE).
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from engine.documents.extract.common import DocumentError, Limits

_SMALL_MEMBER = 1 << 20  # members this small are not ratio-checked (tiny XML parts compress very well legitimately)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError)


class SafeZip:
    """A zip archive read within ``limits``: ``with SafeZip(path, name, limits, "Word") as z: z.read(member)``.

    ``app`` names the program that writes the format, for the hints ("re-save it from Word").
    """

    def __init__(self, path: Path, name: str, limits: Limits, app: str) -> None:
        self.path = path
        self.name = name
        self.limits = limits
        self.app = app
        self.budget = limits.max_unzipped_bytes
        self._zf: zipfile.ZipFile | None = None
        self.infos: dict[str, zipfile.ZipInfo] = {}

    def __enter__(self) -> SafeZip:
        with self._errors():
            self._zf = zipfile.ZipFile(self.path)
            infos = self._zf.infolist()
        if len(infos) > self.limits.max_entries:
            self.close()
            raise DocumentError(f"{self.name} is a zip archive of {len(infos):,} parts, over the "
                                f"{self.limits.max_entries:,} part limit (a zip bomb or a damaged file).",
                                "It was not read.")
        self.infos = {info.filename: info for info in infos}
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive."""
        if self._zf is not None:
            self._zf.close()
            self._zf = None

    def has(self, member: str) -> bool:
        """Whether the archive holds ``member``."""
        return member in self.infos

    def check_declared(self, members: list[str]) -> None:
        """Refuse when the members' declared sizes together pass the unzipped budget left, before reading any."""
        declared = sum(self.infos[m].file_size for m in members if m in self.infos)
        if declared > self.budget:
            raise DocumentError(f"{self.name} expands to {declared / 2**20:,.0f} MB when unzipped, over the "
                                f"{self.limits.max_unzipped_bytes / 2**20:,.0f} MB limit.",
                                "Split it into smaller files.")

    def read(self, member: str) -> bytes:
        """Inflate ``member`` (checked by its header first, then while inflating); a missing member is an error."""
        info = self.infos.get(member)
        if info is None or self._zf is None:
            raise DocumentError(f"{self.name} lacks its part {member!r}.",
                                f"It may be damaged; re-save it from {self.app}.")
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > _SMALL_MEMBER and ratio > self.limits.max_ratio:
            raise DocumentError(f"{self.name} has a part ({member}) compressed {ratio:,}:1, over the "
                                f"{self.limits.max_ratio}:1 safety limit (a zip bomb?).", "It was not read.")
        self.check_declared([member])
        chunks: list[bytes] = []
        with self._errors(), self._zf.open(info) as fh:
            while True:
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                self.budget -= len(chunk)
                if self.budget < 0:
                    raise DocumentError(f"{self.name} expands beyond "
                                        f"{self.limits.max_unzipped_bytes / 2**20:,.0f} MB when unzipped (a zip "
                                        "bomb or a damaged file).", "It was not read.")
                chunks.append(chunk)
        return b"".join(chunks)

    def xml(self, member: str) -> Any:
        """``member`` parsed as XML by :func:`parse_xml` (no DTD allowed)."""
        return parse_xml(self.read(member), self.name, self.app)

    def _errors(self) -> _ZipErrors:
        return _ZipErrors(self.name, self.app)


class _ZipErrors:
    """Turns the zip module's many errors into a :class:`DocumentError` naming the file."""

    def __init__(self, name: str, app: str) -> None:
        self.name = name
        self.app = app

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, DocumentError):
            return
        if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
            raise DocumentError(f"{self.name} is encrypted (password-protected).",
                                f"Save an unprotected copy from {self.app}, then add that.") from exc
        if isinstance(exc, _ZIP_ERRORS):
            raise DocumentError(f"{self.name} is not a readable archive ({type(exc).__name__}: {str(exc)[:200]}).",
                                f"It may be damaged; re-save it from {self.app}.") from exc


def _refuse_entities(exc: Exception, name: str, app: str) -> DocumentError:
    return DocumentError(f"{name} contains XML entity or DTD declarations ({type(exc).__name__}): a possible "
                         f"entity-expansion (billion laughs) or external-entity attack; {app} never writes these.",
                         f"It was not read; re-save it from {app} if you trust it.")


def parse_xml(data: bytes, name: str, app: str, *, allow_doctype: bool = False) -> Any:
    """Parse XML with defusedxml: entity declarations and external references are always refused; a DOCTYPE line
    only when ``allow_doctype`` is false (EPUB 2 files carry one legitimately)."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        return SafeET.fromstring(data, forbid_dtd=not allow_doctype, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise _refuse_entities(exc, name, app) from exc
    except SafeET.ParseError as exc:
        raise DocumentError(f"{name} has malformed XML ({exc}).", f"It may be damaged; re-save it from {app}.") \
            from exc


def office_title(zf: SafeZip) -> str:
    """The title in an Office file's ``docProps/core.xml`` ("" when it has none)."""
    if not zf.has("docProps/core.xml"):
        return ""
    node = zf.xml("docProps/core.xml").find("{http://purl.org/dc/elements/1.1/}title")
    return " ".join((node.text or "").split()) if node is not None else ""


def relationships(zf: SafeZip, part: str) -> dict[str, tuple[str, str]]:
    """An Office part's relationships: id → (type's last segment, target part path inside the archive); links to
    outside the file are left out (they are never followed)."""
    folder, _, base = part.rpartition("/")
    rels = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    if not zf.has(rels):
        return {}
    out: dict[str, tuple[str, str]] = {}
    for rel in zf.xml(rels):
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External" or not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id") or ""] = ((rel.get("Type") or "").rsplit("/", 1)[-1], path)
    return out


def safe_expat(name: str, app: str) -> Any:
    """A bare expat parser (names as ``"namespace local"``) for streaming a large part fast, with the same refusals
    as :func:`parse_xml`: any DOCTYPE, entity declaration or external reference raises :class:`DocumentError`."""
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args: object) -> NoReturn:
        raise DocumentError(f"{name} contains XML entity or DTD declarations: a possible entity-expansion (billion "
                            f"laughs) or external-entity attack; {app} never writes these.",
                            f"It was not read; re-save it from {app} if you trust it.")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    return parser
