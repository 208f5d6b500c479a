"""A message as the transcript draws it: the row it shows (:class:`Row`) and its pieces of HTML — the reasoning
block (live "Thinking… 12 s · 340 tokens", then one collapsed line with its duration), the answer in chunks, the
stats line (speed, tokens, time to first token, the model and the hardware that really ran it), source chips and
the actions. Each piece lays out on its own, so a streaming reply re-lays only its last chunk.

A checked answer from documents (``stats["citations"]``, see engine/documents/citations.py) marks each citation its
passage does not support with ⚠, in the text and on the source's chip, and lists those sentences under it."""

from __future__ import annotations

import html
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QPalette

from desktop.chat.render import MathSource, clean_special_tokens, render_markdown
from desktop.chat.typeset import MathKey
from desktop.theme import Tokens, current_tokens


def _t(text: str) -> str:
    """The transcript's texts in the person's language (context "Transcript")."""
    return QCoreApplication.translate("Transcript", text)


# listed literally so lupdate extracts them
_TEXTS = (
    QT_TRANSLATE_NOOP("Transcript", "Thinking… {0} s"), QT_TRANSLATE_NOOP("Transcript", "Reasoning (unfinished)"),
    QT_TRANSLATE_NOOP("Transcript", "Reasoning"), QT_TRANSLATE_NOOP("Transcript", "Thought for {0} s"),
    QT_TRANSLATE_NOOP("Transcript", "You"), QT_TRANSLATE_NOOP("Transcript", "Assistant"),
    QT_TRANSLATE_NOOP("Transcript", "Interrupted"), QT_TRANSLATE_NOOP("Transcript", "Stopped"),
    QT_TRANSLATE_NOOP("Transcript", "Copy"), QT_TRANSLATE_NOOP("Transcript", "Edit"),
    QT_TRANSLATE_NOOP("Transcript", "Regenerate"), QT_TRANSLATE_NOOP("Transcript", "Sources:"),
    QT_TRANSLATE_NOOP("Transcript", "Sources, reranked:"),
    QT_TRANSLATE_NOOP("Transcript", "No passage in the documents matched this question."),
    QT_TRANSLATE_NOOP("Transcript", "{0} tokens"), QT_TRANSLATE_NOOP("Transcript", "{0:.1f} tok/s"),
    QT_TRANSLATE_NOOP("Transcript", "{0:.2f} s to first token"), QT_TRANSLATE_NOOP("Transcript", "Answer now"),
    QT_TRANSLATE_NOOP("Transcript", "{0} instead of the chosen hardware: {1}"),
    QT_TRANSLATE_NOOP("Transcript", "Not supported by the cited passage:"),
    QT_TRANSLATE_NOOP("Transcript", "not supported by its source"),
)


@dataclass
class Row:
    """What the view shows of one message (the live parts of a streaming reply included)."""

    id: int
    role: str
    content: str = ""
    reasoning: str = ""
    state: str = "complete"
    model: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    engine: str = ""  # who ran the model: "local" or a remote engine's name
    streaming: bool = False
    started: float = 0.0  # monotonic time the reply started (for "Thinking… N s")
    reasoning_s: float | None = None  # set when the reasoning closed
    reasoning_tokens: int = 0  # tokens of reasoning streamed so far
    expanded: bool | None = None  # None: automatic (open while thinking, closed once the answer starts)
    notice: str = ""
    version: int = 0

    @property
    def thinking(self) -> bool:
        """Still inside the reasoning block."""
        return self.streaming and self.reasoning_s is None and not self.content

    @property
    def reasoning_open(self) -> bool:
        """Whether the reasoning block is shown expanded."""
        return self.expanded if self.expanded is not None else self.thinking


def reasoning_header(row: Row) -> str:
    """The reasoning block's one line: live seconds and tokens while thinking, then how long it took."""
    tokens = row.reasoning_tokens or int(row.stats.get("reasoning_tokens") or 0)
    count = f" · {_t('{0} tokens').format(tokens)}" if tokens else ""
    if row.thinking:
        return _t("Thinking… {0} s").format(int(time.monotonic() - row.started)) + count
    seconds = row.reasoning_s if row.reasoning_s is not None else row.stats.get("reasoning_s")
    if row.stats.get("reasoning_unfinished") or (not row.streaming and not row.content and row.state != "complete"):
        return _t("Reasoning (unfinished)") + count
    if seconds is None:
        return _t("Reasoning") + count
    return _t("Thought for {0} s").format(round(seconds)) + count


def stats_line(row: Row) -> str:
    """Under a finished reply: tokens/s, tokens, time to first token, the model and the hardware that ran it
    (with why, when it was not the one chosen). Empty when the reply has no figures."""
    s = row.stats
    if row.role != "assistant" or row.streaming or not s.get("generated_tokens"):
        return ""
    parts = []
    if s.get("decode_tokens_per_s"):
        parts.append(_t("{0:.1f} tok/s").format(float(s["decode_tokens_per_s"])))
    parts.append(_t("{0} tokens").format(int(s["generated_tokens"])))
    if s.get("time_to_first_token_s"):
        parts.append(_t("{0:.2f} s to first token").format(float(s["time_to_first_token_s"])))
    where = row.model
    if row.engine and row.engine != "local":
        where += f" @ {row.engine}"
    elif s.get("provider"):
        where += f" · {str(s['provider']).upper()}"
    if where:
        parts.append(where)
    line = " · ".join(parts)
    if s.get("provider_reason"):
        line += " — " + _t("{0} instead of the chosen hardware: {1}").format(
            str(s.get("provider", "")).upper(), str(s["provider_reason"]))
    return line


CHUNK_CHARS = 400


def split_markdown(text: str, limit: int = CHUNK_CHARS) -> list[str]:
    """Cut Markdown at blank lines outside code fences and display math into chunks of about ``limit`` characters.

    Each chunk renders (and lays out) on its own, so a growing reply re-renders only its last chunk.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    fenced = math = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif stripped.count("$$") % 2 == 1 and not fenced:
            math = not math
        current.append(line)
        size += len(line) + 1
        if not stripped and not fenced and not math and size >= limit:
            chunks.append("\n".join(current))
            current, size = [], 0
    if current:
        chunks.append("\n".join(current))
    return chunks


@dataclass(frozen=True)
class Piece:
    """One separately laid-out part of a message: its HTML, the code blocks it holds and its images (typeset
    math: resource name and PNG bytes)."""

    html: str
    codes: tuple[str, ...] = ()
    images: tuple[tuple[str, bytes], ...] = ()


_CHUNKS: OrderedDict[tuple[str, bool, str, MathSource | None], tuple[Piece, tuple[MathKey, ...]]] = OrderedDict()
_KEEP_CHUNKS = 4096


def _chunk(text: str, dark: bool, prefix: str, math: MathSource | None) -> Piece:
    """A chunk of Markdown rendered, cached: rendered again only when a formula it was waiting for has been
    typeset, so formulas arriving elsewhere leave it alone."""
    key = (text, dark, prefix, math)
    hit = _CHUNKS.get(key)
    if hit is not None and (math is None or all(math.get(k) is math.missing for k in hit[1])):
        _CHUNKS.move_to_end(key)
        return hit[0]
    rendered = render_markdown(text, dark=dark, block_prefix=prefix, math=math)
    piece = Piece(rendered.html, tuple(rendered.code_blocks), tuple(rendered.images.items()))
    _CHUNKS[key] = (piece, rendered.waiting)
    _CHUNKS.move_to_end(key)
    while len(_CHUNKS) > _KEEP_CHUNKS:
        _CHUNKS.popitem(last=False)
    return piece


def _block(inner: str, background: str, pad: int = 10) -> str:
    return (f'<table width="100%" cellspacing="0" cellpadding="{pad}" bgcolor="{background}"><tr><td>'
            f"{inner}</td></tr></table>")


def message_pieces(row: Row, palette: QPalette, math: MathSource | None = None) -> list[Piece]:
    """A message as pieces: header, reasoning (chunked), answer (chunked), notes, stats, sources and actions.
    Math is typeset at once, or with ``math`` in the background (shown as its source until then)."""
    t: Tokens = current_tokens(palette)
    pieces: list[Piece] = []
    if row.role == "assistant":
        who = html.escape(row.model) if row.model else _t("Assistant")
        if row.engine and row.engine != "local":
            who += f" @ {html.escape(row.engine)}"
        pieces.append(Piece(f'<p style="color:{t.dim}; font-size:small"><b>{who}</b></p>'))

    def markdown(text: str, color: str = "") -> None:
        for chunk in split_markdown(clean_special_tokens(text)):
            piece = _chunk(chunk, t.dark, f"{len(pieces)}:", math)
            body = f'<div style="color:{color}">{piece.html}</div>' if color else piece.html
            pieces.append(Piece(body, piece.codes, piece.images))

    if row.role == "assistant" and (row.reasoning.strip() or row.thinking):
        arrow = "▾" if row.reasoning_open else "▸"
        head = (f'<a href="ponder:toggle/{row.id}" style="color:{t.dim}; text-decoration:none">{arrow}&nbsp; '
                f"{html.escape(reasoning_header(row))}</a>")
        pieces.append(Piece(_block(head, t.code_bg, 7)))
        if row.reasoning_open and row.reasoning.strip():
            markdown(row.reasoning, t.dim)
        if row.notice and row.thinking:  # the loop guard's warning, with Answer now, where the reasoning is
            pieces.append(Piece(f'<p style="color:{t.warning}">⚠ {html.escape(row.notice)} &nbsp;'
                                f'<a href="ponder:answer-now/{row.id}"><b>{_t("Answer now")}</b></a></p>'))
    sources = row.stats.get("sources") if row.role == "assistant" else None
    unsupported = unsupported_citations(row)
    if row.role == "user":
        pieces.append(Piece("<p>" + html.escape(row.content).replace("\n", "<br>") + "</p>"))
    elif row.content:
        first = len(pieces)
        markdown(row.content)
        if sources:
            numbers = {int(s["number"]) for s in sources}
            doubtful = {(int(v["marker"]), int(v["number"])) for v in unsupported}
            marker = 0
            for i in range(first, len(pieces)):
                p = pieces[i]
                linked, marker = link_checked_citations(p.html, numbers, doubtful, marker, t.warning)
                pieces[i] = Piece(linked, p.codes, p.images)
    if sources and not row.streaming:
        doubted = {int(v["number"]) for v in unsupported}
        chips = [f'<a href="ponder:cite/{int(s["number"])}" style="text-decoration:none">'
                 f'<span style="background-color:{t.code_header}; color:{t.link}">&nbsp;{int(s["number"])}&nbsp;'
                 f'{html.escape(str(s["label"]))}&nbsp;'
                 + (f'<span style="color:{t.warning}">⚠&nbsp;</span>' if int(s["number"]) in doubted else "")
                 + "</span></a>" for s in sources]
        heading = _t("Sources, reranked:") if any(s.get("reranked") for s in sources) else _t("Sources:")
        pieces.append(Piece(f'<p style="color:{t.dim}; font-size:small">{heading}&nbsp; '
                            + " &nbsp;".join(chips) + "</p>"))
    if unsupported and not row.streaming:
        lines = [f'<a href="ponder:cite/{int(v["number"])}" style="color:{t.warning}">[{int(v["number"])}]</a>'
                 f"&nbsp;“{html.escape(_shorten(str(v.get('sentence', ''))))}”" for v in unsupported]
        pieces.append(Piece(f'<p style="color:{t.warning}; font-size:small">⚠ '
                            f'{_t("Not supported by the cited passage:")}<br>' + "<br>".join(lines) + "</p>"))
    elif sources is not None and not sources and not row.streaming:
        pieces.append(Piece(f'<p style="color:{t.dim}; font-size:small">'
                            f'{_t("No passage in the documents matched this question.")}</p>'))
    if row.notice and not row.thinking:
        pieces.append(Piece(f'<p style="color:{t.warning}">⚠ {html.escape(row.notice)}</p>'))
    if row.state in ("interrupted", "cancelled") and not row.streaming:
        label = _t("Interrupted") if row.state == "interrupted" else _t("Stopped")
        pieces.append(Piece(f'<p style="color:{t.dim}"><i>{label}</i></p>'))
    stats = stats_line(row)
    if stats:
        pieces.append(Piece(f'<p style="color:{t.dim}; font-size:small">{html.escape(stats)}</p>'))
    if not row.streaming:
        actions = [f'<a href="ponder:copy/{row.id}" style="color:{t.dim}">{_t("Copy")}</a>']
        if row.role == "user":
            actions.append(f'<a href="ponder:edit/{row.id}" style="color:{t.dim}">{_t("Edit")}</a>')
        else:
            actions.append(f'<a href="ponder:regenerate/{row.id}" style="color:{t.dim}">{_t("Regenerate")}</a>')
        pieces.append(Piece(f'<p style="font-size:small">{" &nbsp;·&nbsp; ".join(actions)}</p>'))
    return pieces


_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_PRE = re.compile(r"(<pre.*?</pre>)", re.S)


def link_citations(body: str, numbers: set[int]) -> str:
    """Turn the citations ``[1]``, ``[2, 3]`` of an answer's HTML into links to those sources (not in code)."""
    return link_checked_citations(body, numbers, set(), 0, "")[0]


def link_checked_citations(body: str, numbers: set[int], doubtful: set[tuple[int, int]], first: int,
                           warning: str) -> tuple[str, int]:
    """:func:`link_citations`, with the citations in ``doubtful`` (citation group of the answer, counted from
    ``first`` as engine/documents/citations.py counts them, and source number) marked ⚠ in the ``warning`` colour
    with a tooltip; also returns the number of the next group, to go on in the next piece."""
    marker = first

    def link(match: re.Match[str]) -> str:
        nonlocal marker
        group, marker = marker, marker + 1
        parts = [n.strip() for n in match.group(1).split(",")]
        if not all(int(n) in numbers for n in parts):
            return match.group(0)
        links = []
        for n in parts:
            if (group, int(n)) in doubtful:
                links.append(f'<a href="ponder:cite/{n}" style="color:{warning}" '
                             f'title="{html.escape(_t("not supported by its source"))}">{n}&nbsp;⚠</a>')
            else:
                links.append(f'<a href="ponder:cite/{n}">{n}</a>')
        return "[" + ", ".join(links) + "]"

    out = "".join(part if part.startswith("<pre") else _CITATION.sub(link, part) for part in _PRE.split(body))
    return out, marker


def unsupported_citations(row: Row) -> list[dict[str, Any]]:
    """The verdicts of ``row``'s checked citations that their passage does not support (none for a message saved
    before citations were checked)."""
    verdicts = row.stats.get("citations") if row.role == "assistant" else None
    if not isinstance(verdicts, list):
        return []
    return [v for v in verdicts if isinstance(v, dict) and v.get("supported") is False
            and isinstance(v.get("marker"), int) and isinstance(v.get("number"), int)]


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def message_html(row: Row, palette: QPalette) -> tuple[str, list[str]]:
    """The whole message as one HTML string, and its code blocks (for export and checks)."""
    pieces = message_pieces(row, palette)
    return "".join(p.html for p in pieces), [code for p in pieces for code in p.codes]
