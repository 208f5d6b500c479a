"""Model output to safe HTML for Qt's rich text: Markdown, highlighted code, tables and legible LaTeX.

Model output is untrusted: raw HTML is escaped (never interpreted), images are shown as their alt text and never
fetched, and links are shown as text with their address, never as something that opens or loads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5), ("zeta", 0x3B6),
    ("eta", 0x3B7), ("theta", 0x3B8), ("lambda", 0x3BB), ("mu", 0x3BC), ("pi", 0x3C0), ("rho", 0x3C1),
    ("sigma", 0x3C3), ("tau", 0x3C4), ("phi", 0x3C6), ("omega", 0x3C9), ("Delta", 0x394), ("Sigma", 0x3A3),
    ("Omega", 0x3A9), ("Pi", 0x3A0))}
_SYMBOLS = {"times": "×", "cdot": "·", "div": "÷", "pm": "±", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥",
            "neq": "≠", "ne": "≠", "approx": "≈", "infty": "∞", "to": "→", "rightarrow": "→", "Rightarrow": "⇒",
            "leftarrow": "←", "in": "∈", "sum": "∑", "prod": "∏", "int": "∫", "partial": "∂", "circ": "°",
            "ldots": "…", "cdots": "⋯", "quad": "  ", "qquad": "    ", ",": " ", ";": " ", "!": ""} | _GREEK
_SUP = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\w)",
                   re.DOTALL)
_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"


def latex_to_text(tex: str) -> str:
    """Turn common LaTeX into readable Unicode text (fractions, roots, powers, Greek, operators, \\boxed)."""
    out = tex.strip()
    for _ in range(4):  # nested constructs
        out = re.sub(r"\\[dt]?frac\s*" + _GROUP + r"\s*" + _GROUP, r"(\1)/(\2)", out)
        out = re.sub(r"\\sqrt\s*" + _GROUP, r"√(\1)", out)
        out = re.sub(r"\\boxed\s*" + _GROUP, r"【\1】", out)
        out = re.sub(r"\\(?:text|mathrm|mathbf|mathit|operatorname)\s*" + _GROUP, r"\1", out)
    out = re.sub(r"\^\{([0-9+\-=()n]+)\}|\^([0-9n])", lambda m: (m.group(1) or m.group(2)).translate(_SUP), out)
    out = re.sub(r"_\{([0-9+\-=()]+)\}|_([0-9])", lambda m: (m.group(1) or m.group(2)).translate(_SUB), out)
    out = re.sub(r"\\left|\\right", "", out)
    out = re.sub(r"\\([A-Za-z]+|[,;!])", lambda m: _SYMBOLS.get(m.group(1), m.group(1)), out)
    return out.replace("{", "").replace("}", "")


@dataclass
class Rendered:
    """HTML for a piece of Markdown and the code blocks it contains (for the copy buttons)."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


class _SafeRenderer(RendererHTML):
    """Escapes HTML, shows links and images as text, highlights code with a copy link per block."""

    def __init__(self, parser: MarkdownIt | None = None) -> None:
        super().__init__(parser)
        self.code_blocks: list[str] = []
        self.code_style = "default"
        self.code_background = "#f2f2f2"
        self.block_prefix = ""

    def _code(self, code: str, lang: str) -> str:
        index = len(self.code_blocks)
        self.code_blocks.append(code)
        body = _highlight(code, lang, self.code_style)
        return (f'<table width="100%" cellpadding="6" bgcolor="{self.code_background}"><tr><td>'
                f'<pre style="font-family:monospace">{body}</pre>'
                f'<a href="ponder:copy-code/{self.block_prefix}{index}">Copy code</a></td></tr></table>')

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        return self._code(token.content, token.info.strip().split(" ")[0] if token.info else "")

    def code_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._code(tokens[idx].content, "")

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
    return highlight(code, lexer, HtmlFormatter(noclasses=True, nowrap=True, style=style))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(text: str, *, code_style: str = "default", code_background: str = "#f2f2f2",
                    block_prefix: str = "") -> Rendered:
    """Markdown → safe HTML; math in $…$, $$…$$, \\(…\\) and \\[…\\] shown as Unicode text."""
    maths: list[str] = []

    def stash(match: re.Match[str]) -> str:
        tex = next(g for g in match.groups() if g is not None)
        maths.append(latex_to_text(tex))
        display = match.group(0).startswith(("$$", "\\["))
        return f"\n\nPONDERMATHBLOCK{len(maths) - 1}X\n\n" if display else f"PONDERMATH{len(maths) - 1}X"

    source = _MATH.sub(stash, text)
    md = _parser()
    renderer = _SafeRenderer(md)
    renderer.code_style = code_style
    renderer.code_background = code_background
    renderer.block_prefix = block_prefix
    out = renderer.render(md.parse(source), md.options, {})

    def unstash(match: re.Match[str]) -> str:
        value = html.escape(maths[int(match.group(2))])
        return f'<p align="center"><i>{value}</i></p>' if match.group(1) else f"<i>{value}</i>"

    out = re.sub(r"(?:<p>)?PONDERMATH(BLOCK)?(\d+)X(?:</p>)?", unstash, out)
    out = out.replace("<table>\n", '<table border="1" cellspacing="0" cellpadding="4">\n')
    return Rendered(out, renderer.code_blocks)
