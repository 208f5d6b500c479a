"""Model output to safe HTML for Qt's rich text: Markdown, highlighted code under a header, tables, quotes and
math typeset as images (desktop/chat/typeset.py).

Model output is untrusted: raw HTML is escaped (never interpreted), images are shown as their alt text and never
fetched, and links are shown as text with their address, never as something that opens or loads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound
from PySide6.QtCore import QCoreApplication

from desktop.chat.typeset import Formula, MathKey, typeset
from desktop.theme import LIGHT, MONO_FAMILIES, Tokens, tokens

MONO = ", ".join(f"'{f}'" if " " in f else f for f in MONO_FAMILIES)

_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\w)",
                   re.DOTALL)
# chat-template tokens a model may emit as text (a stray </think>, DeepSeek's <｜end▁of▁sentence｜>, Qwen's
# <|im_end|>, Llama's </s>): never shown; the engine should not pass them on, and this guards the window if it does
_SPECIAL = re.compile(r"</?think>|<\|[A-Za-z0-9_▁.:-]{1,40}\|>|<｜[^｜<>\n]{1,40}｜>|</s>|<s>(?=\s*$)")
_FENCE = re.compile(r"(^```.*?^```[^\n]*$|^~~~.*?^~~~[^\n]*$)", re.M | re.S)


def clean_special_tokens(text: str) -> str:
    """``text`` without chat-template special tokens (code blocks are left as written)."""
    return "".join(part if part.startswith(("```", "~~~")) else _SPECIAL.sub("", part)
                   for part in _FENCE.split(text))


@dataclass
class Rendered:
    """HTML for a piece of Markdown, the code blocks it contains (for the Copy buttons) and the images of its typeset
    math (resource name → PNG bytes)."""

    html: str
    code_blocks: list[str] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    waiting: tuple[MathKey, ...] = ()  # its math still being typeset (shown as source text until then)


class _SafeRenderer(RendererHTML):
    """Escapes HTML, shows links and images as text, highlights code under a header (language, Copy), frames
    quotes and tables."""

    def __init__(self, parser: MarkdownIt | None = None, colors: Tokens = LIGHT, block_prefix: str = "") -> None:
        super().__init__(parser)
        self.code_blocks: list[str] = []
        self.colors = colors
        self.block_prefix = block_prefix

    def _code(self, code: str, lang: str) -> str:
        t = self.colors
        index = len(self.code_blocks)
        self.code_blocks.append(code)
        body = _highlight(code, lang, "monokai" if t.dark else "default")
        label = html.escape(lang) if lang else QCoreApplication.translate("Transcript", "code")
        copy = QCoreApplication.translate("Transcript", "Copy")
        return (f'<table width="100%" cellspacing="0" cellpadding="0" bgcolor="{t.code_bg}">'
                f'<tr><td bgcolor="{t.code_header}" style="padding:4px 10px">'
                f'<table width="100%" cellspacing="0" cellpadding="0"><tr>'
                f'<td><span style="color:{t.dim}; font-size:small">{label}</span></td>'
                f'<td align="right"><a href="ponder:copy-code/{self.block_prefix}{index}" '
                f'style="color:{t.dim}; font-size:small; text-decoration:none">{copy}</a></td></tr></table></td></tr>'
                f'<tr><td style="padding:8px 10px"><pre style="font-family:{MONO}">{body}</pre></td></tr></table>')

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        return self._code(token.content, token.info.strip().split(" ")[0] if token.info else "")

    def code_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._code(tokens[idx].content, "")

    def blockquote_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return (f'<table cellspacing="0" cellpadding="0" width="100%"><tr><td width="3" bgcolor="{self.colors.border}">'
                f'</td><td style="padding-left:12px; color:{self.colors.dim}">')

    def blockquote_close(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return "</td></tr></table>"

    def table_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return (f'<table border="1" cellspacing="0" cellpadding="6" style="border-collapse:collapse; '
                f'border-color:{self.colors.border}">')

    def th_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        align = tokens[idx].attrGet("style") or ""
        align = " align=\"" + str(align).split(":")[-1] + "\"" if align else ""
        return f'<th bgcolor="{self.colors.code_header}"{align}>'

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        alt = html.escape(token.content or "image")
        return f"[image: {alt} — {html.escape(str(token.attrGet('src') or ''))}]"

    def link_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return "<u>"

    def link_close(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        opener = next((t for t in reversed(tokens[:idx]) if t.type == "link_open"), None)
        href = str(opener.attrGet("href") or "") if opener else ""
        return f"</u> ({html.escape(href)})" if href else "</u>"


@lru_cache(maxsize=512)
def _highlight(code: str, lang: str, style: str) -> str:
    """Pygments HTML with inline styles (cached: a streaming reply re-renders its finished code blocks often)."""
    try:
        lexer = get_lexer_by_name(lang) if lang else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    return highlight(code, lexer, _formatter(style))


@lru_cache(maxsize=4)
def _formatter(style: str) -> HtmlFormatter:  # type: ignore[type-arg]
    return HtmlFormatter(noclasses=True, nowrap=True, style=style)


# the languages models write most; a lexer compiles its rules on first use (50-200 ms, more on a busy machine)
COMMON_LANGUAGES = ("python", "javascript", "typescript", "bash", "shell", "c", "cpp", "csharp", "rust", "go",
                    "java", "kotlin", "json", "yaml", "toml", "html", "css", "sql", "markdown", "latex", "diff")


@lru_cache(maxsize=1)
def warm_highlighting() -> int:
    """Compile the lexers of :data:`COMMON_LANGUAGES` and both themes' formatters (on a background thread when the
    window starts), so the first code block of a streaming reply does not stall the GUI thread. Returns how many."""
    for style in ("default", "monokai"):
        _formatter(style)
    for lang in COMMON_LANGUAGES:
        highlight("x = 1\n", get_lexer_by_name(lang), _formatter("default"))
    return len(COMMON_LANGUAGES)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


class MathSource(Protocol):
    """Typeset formulas kept elsewhere (desktop/chat/mathstore.py): ``get`` returns them, None for invalid TeX, or
    ``missing`` until ``request`` has had them typeset."""

    missing: object

    def __hash__(self) -> int: ...

    def get(self, key: MathKey) -> tuple[Formula, ...] | object | None: ...

    def request(self, key: MathKey) -> None: ...


def _math_html(tex: str, display: bool, t: Tokens, images: dict[str, bytes], math: MathSource | None,
               written: str, waiting: list[MathKey]) -> str:
    """A formula as images (kept in ``images``), or its source text when it cannot be typeset (or, with ``math``,
    until it has been typeset in the background: its key is added to ``waiting``)."""
    key: MathKey = (" ".join(tex.split()), t.text, t.boxed, 12.5 if display else 10.5)
    if math is None:
        formulas: object = typeset(*key)
    else:
        formulas = math.get(key)
        if formulas is math.missing:
            math.request(key)
            waiting.append(key)
    if not isinstance(formulas, tuple):
        source = html.escape(written)  # as the model wrote it, delimiters included
        code = f'<code style="font-family:{MONO}">{source}</code>'
        return f'<p align="center">{code}</p>' if display else code
    tags = []
    for f in formulas:
        assert isinstance(f, Formula)
        images[f.name] = f.png
        tags.append(f'<img src="{f.name}" width="{f.width}" height="{f.height}" style="vertical-align:middle">')
    body = "".join(tags)
    return f'<p align="center">{body}</p>' if display else body


def has_math(text: str) -> bool:
    """Whether ``text`` may hold a formula (its rendering then depends on what has been typeset)."""
    return "$" in text or "\\[" in text or "\\(" in text


def render_markdown(text: str, *, dark: bool = False, block_prefix: str = "",
                    math: MathSource | None = None) -> Rendered:
    """Markdown → safe HTML in the light or dark theme's colours; math in $…$, $$…$$, \\(…\\) and \\[…\\]
    typeset as images (their source text when invalid)."""
    colors = tokens(dark)
    maths: list[tuple[str, bool, str]] = []

    def stash(match: re.Match[str]) -> str:
        tex = next(g for g in match.groups() if g is not None)
        display = match.group(0).startswith(("$$", "\\["))
        maths.append((tex, display, match.group(0)))
        return f"\n\nPONDERMATHBLOCK{len(maths) - 1}X\n\n" if display else f"PONDERMATH{len(maths) - 1}X"

    source = "".join(part if part.startswith(("```", "~~~")) else _MATH.sub(stash, part)
                     for part in _FENCE.split(text))
    md = _parser()
    renderer = _SafeRenderer(md, colors, block_prefix)
    out = renderer.render(md.parse(source), md.options, {})
    images: dict[str, bytes] = {}
    waiting: list[MathKey] = []

    def unstash(match: re.Match[str]) -> str:
        tex, display, written = maths[int(match.group(2))]
        return _math_html(tex, display, colors, images, math, written, waiting)

    out = re.sub(r"(?:<p>)?PONDERMATH(BLOCK)?(\d+)X(?:</p>)?", unstash, out)
    return Rendered(out, renderer.code_blocks, images, tuple(waiting))
