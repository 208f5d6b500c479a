"""EPUB (2 and 3): the chapters in spine order, each chapter's blocks under its title from the table of contents
(EPUB 3 nav document, else the EPUB 2 NCX) and its own <h1>-<h6> headings. The zip goes through :class:`SafeZip`;
the package files are parsed without entities, and the chapters by the HTML reader, which never loads anything."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from engine.documents.extract.archive import SafeZip, parse_xml
from engine.documents.extract.common import Builder, DocumentError, Extracted, Limits
from engine.documents.extract.html import HtmlText
from engine.documents.extract.text import decode

_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
_XHTML = "{http://www.w3.org/1999/xhtml}"
_OPS = "{http://www.idpf.org/2007/ops}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_ENC = "{http://www.w3.org/2001/04/xmlenc#}"
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html", "application/x-dtbook+xml"}
_APP = "your e-book editor"


def read_epub(path: Path, name: str, limits: Limits) -> Extracted:
    """One section per block of a chapter, chapters in spine order, under the chapter's table-of-contents title."""
    with SafeZip(path, name, limits, _APP) as zf:
        opf_path = _package_path(zf, name)
        package = _xml(zf, opf_path, name)
        folder = posixpath.dirname(opf_path)
        manifest: dict[str, tuple[str, str, str]] = {}  # id → (part path, media type, properties)
        for item in package.iter(f"{_OPF}item"):
            href = item.get("href") or ""
            manifest[item.get("id") or ""] = (_resolve(folder, href), item.get("media-type") or "",
                                              item.get("properties") or "")
        spine = package.find(f"{_OPF}spine")
        if spine is None:
            raise DocumentError(f"{name} has no reading order (no spine in its package file).",
                                f"It may be damaged; re-save it from {_APP}.")
        items = [manifest.get(ref.get("idref") or "", ("", "", "")) for ref in spine.findall(f"{_OPF}itemref")]
        # the nav document, when it is in the spine, is a table of contents: its titles head the chapters instead
        chapters = [part for part, kind, props in items if kind in _CHAPTER_TYPES and "nav" not in props.split()]
        if len(chapters) > limits.max_pages:
            raise DocumentError(f"{name} has {len(chapters):,} chapters, over the {limits.max_pages:,} limit.",
                                "Split it into smaller files.")
        _refuse_drm(zf, name, set(chapters))
        titles = _toc_titles(zf, name, manifest, spine.get("toc") or "")
        builder = Builder(name, limits)
        first_heading = ""
        for part in chapters:
            if not zf.has(part):
                continue
            parser = HtmlText(builder, root=titles.get(part, ""))
            parser.feed(decode(zf.read(part), name))
            parser.close()
            first_heading = first_heading or parser.first_heading
        node = package.find(f"{_OPF}metadata/{_DC}title")
        title = " ".join((node.text or "").split()) if node is not None else ""
    if not builder.sections:
        raise DocumentError(f"{name} has no text in its chapters.", "It may hold only images (a comic or a scan).")
    return Extracted(path=str(path), kind="epub", title=title or first_heading or path.stem, text=builder.text(),
                     sections=builder.sections)


def _xml(zf: SafeZip, part: str, name: str) -> Any:
    # EPUB 2 package files legitimately start with a DOCTYPE line; entity declarations are still refused.
    return parse_xml(zf.read(part), name, _APP, allow_doctype=True)


def _resolve(folder: str, href: str) -> str:
    """A link inside the book → its part path (fragment dropped, %-escapes decoded)."""
    target = unquote(href.split("#", 1)[0])
    return posixpath.normpath(posixpath.join(folder, target)) if target else ""


def _package_path(zf: SafeZip, name: str) -> str:
    if not zf.has("META-INF/container.xml"):
        raise DocumentError(f"{name} is a zip file but not an EPUB book (no META-INF/container.xml).",
                            "Choose an .epub saved by an e-book editor (Calibre, Sigil, ...).")
    for rootfile in _xml(zf, "META-INF/container.xml", name).iter(f"{_CONTAINER}rootfile"):
        full = rootfile.get("full-path") or ""
        if full and zf.has(full):
            return full
    raise DocumentError(f"{name} names no package file that it contains (META-INF/container.xml).",
                        f"It may be damaged; re-save it from {_APP}.")


def _refuse_drm(zf: SafeZip, name: str, chapters: set[str]) -> None:
    """Refuse a book whose chapters are encrypted (DRM); obfuscated fonts alone are fine."""
    if not zf.has("META-INF/encryption.xml"):
        return
    for ref in _xml(zf, "META-INF/encryption.xml", name).iter(f"{_ENC}CipherReference"):
        if unquote(ref.get("URI") or "").lstrip("/") in chapters:
            raise DocumentError(f"{name} is DRM-protected (its chapters are encrypted).",
                                "Add a DRM-free copy of the book.")


def _toc_titles(zf: SafeZip, name: str, manifest: dict[str, tuple[str, str, str]], ncx_id: str) -> dict[str, str]:
    """Chapter part → its first title in the table of contents: the EPUB 3 nav document, else the NCX; a missing
    or unparsable table of contents only costs the titles."""
    nav = next((p for p, _t, props in manifest.values() if "nav" in props.split()), "")
    ncx = manifest.get(ncx_id, ("", "", ""))[0] or next(
        (p for p, t, _props in manifest.values() if t == "application/x-dtbncx+xml"), "")
    titles: dict[str, str] = {}
    if nav and zf.has(nav):
        titles = _nav_titles(_toc_xml(zf, nav, name), posixpath.dirname(nav))
    if not titles and ncx and zf.has(ncx):
        root = _toc_xml(zf, ncx, name)
        folder = posixpath.dirname(ncx)
        for point in root.iter(f"{_NCX}navPoint") if root is not None else []:
            label = point.find(f"{_NCX}navLabel/{_NCX}text")
            content = point.find(f"{_NCX}content")
            if label is not None and content is not None:
                titles.setdefault(_resolve(folder, content.get("src") or ""), " ".join((label.text or "").split()))
    return {part: title for part, title in titles.items() if part and title}


def _toc_xml(zf: SafeZip, part: str, name: str) -> Any:
    try:
        return _xml(zf, part, name)
    except DocumentError as exc:
        if "entity" in exc.problem:
            raise  # hostile, not merely sloppy
        return None


def _nav_titles(root: Any, folder: str) -> dict[str, str]:
    if root is None:
        return {}
    navs = [n for n in root.iter(f"{_XHTML}nav") if n.get(f"{_OPS}type") == "toc"] or list(root.iter(f"{_XHTML}nav"))
    titles: dict[str, str] = {}
    for nav in navs[:1]:
        for link in nav.iter(f"{_XHTML}a"):
            text = " ".join("".join(link.itertext()).split())
            titles.setdefault(_resolve(folder, link.get("href") or ""), text)
    return titles
