"""The context meter: what a conversation's next prompt takes of the model's context, part by part, and what the
trimming would drop when it does not fit.

The prompt is rendered and tokenized once; each token is counted to the part of the text it starts in (the system
prompt, the documents' passages, earlier thoughts, answers, questions, or the template's own markup). When the
prompt and the room kept for the reply overflow the context, the oldest turns go as
:meth:`engine.runtime.generate.ChatModel.fit_prompt` drops them (same rule, :func:`oldest_turn`), counted from the
same tokens instead of rendering again.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.chat.conversation import conversation_config, prompt_messages
from engine.chat.storage import ConversationStore
from engine.documents.retrieve import Source, cited_prompt
from engine.runtime.generate import ChatModel, GenerationConfig, oldest_turn, reply_reserve
from engine.runtime.template import Message, split_reasoning

SYSTEM, DOCUMENTS, THOUGHTS, ANSWERS, QUESTIONS, OTHER = "system", "documents", "thoughts", "answers", "questions", \
    "other"
WARN_AT = 0.85  # share of the context (prompt and the reply's room) from which the meter warns


@dataclass(frozen=True)
class ContextMeter:
    """Tokens of the next prompt by part, the context size, the room kept for the reply, and what would be dropped
    to fit (``dropped``: indices of the messages measured, or stored positions for :func:`conversation_meter`)."""

    context_size: int
    reserve: int
    system_tokens: int
    documents_tokens: int
    thought_tokens: int
    answer_tokens: int
    question_tokens: int
    other_tokens: int
    dropped: tuple[int, ...] = ()
    dropped_tokens: int = 0

    @property
    def total(self) -> int:
        """Tokens of the whole prompt before any trimming."""
        return (self.system_tokens + self.documents_tokens + self.thought_tokens + self.answer_tokens
                + self.question_tokens + self.other_tokens)

    @property
    def used(self) -> int:
        """Tokens of the prompt as it will be sent (after the trimming)."""
        return self.total - self.dropped_tokens

    @property
    def fits(self) -> bool:
        """True when the prompt and the reply's room fit without dropping anything."""
        return self.total + self.reserve <= self.context_size

    @property
    def too_long(self) -> bool:
        """True when even the trimmed prompt (system prompt and question) leaves no room: sending would fail."""
        return self.used + 1 > self.context_size

    @property
    def fraction(self) -> float:
        """The share of the context the whole prompt and the reply's room take (above 1 when it overflows)."""
        return (self.total + self.reserve) / self.context_size if self.context_size else 0.0

    @property
    def warning(self) -> bool:
        """True when the window is nearly full (:data:`WARN_AT`) or overflows: say so before sending."""
        return self.fraction >= WARN_AT


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    part: str


def _spans(text: str, messages: Sequence[Message], keep_thoughts: bool,
           question: str | None) -> tuple[list[_Span], list[int]]:
    """The parts of each message located in the rendered ``text`` (in order), and where each message starts
    (-1: not found, e.g. an empty message)."""
    spans: list[_Span] = []
    starts: list[int] = []
    pos = 0
    for i, m in enumerate(messages):
        if m.role == "assistant":
            thought, answer = split_reasoning(m)
            pieces = ([(thought, THOUGHTS)] if keep_thoughts and thought else []) + [(answer, ANSWERS)]
        elif m.role == "system":
            pieces = [(m.content, SYSTEM)]
        elif question is not None and i == len(messages) - 1 and question in m.content:
            at = m.content.rfind(question)
            pieces = [(m.content[:at], DOCUMENTS), (question, QUESTIONS), (m.content[at + len(question):], DOCUMENTS)]
        else:
            pieces = [(m.content, QUESTIONS)]
        first = -1
        for piece, part in pieces:
            at = text.find(piece, pos) if piece else -1
            if at < 0:
                continue  # not in the prompt as given (the template changed it): counted as markup
            spans.append(_Span(at, at + len(piece), part))
            first = at if first < 0 else first
            pos = at + len(piece)
        starts.append(first)
    return spans, starts


def measure(model: ChatModel, messages: Sequence[Message], config: GenerationConfig | None = None, *,
            sources: Sequence[Source] | None = None) -> ContextMeter:
    """The meter for prompting ``model`` with ``messages`` under ``config`` (its policy for earlier thoughts,
    "don't think" and reply length); with ``sources`` (documents attached; may be empty), the last message is the
    question that the passages go with, as the documents answer sends it."""
    config = config or GenerationConfig()
    options = model.prompt_options(config)
    messages = list(messages)
    question = None
    if sources is not None and messages and messages[-1].role == "user":
        question = messages[-1].content
        messages[-1] = Message("user", cited_prompt(question, list(sources)))
    text = model.template.render(messages, **options)
    encoding = model.tokenizer.encode(text, add_special_tokens=False)
    spans, starts = _spans(text, messages, options["keep_thoughts"], question)
    counts = dict.fromkeys((SYSTEM, DOCUMENTS, THOUGHTS, ANSWERS, QUESTIONS, OTHER), 0)
    span_starts = [s.start for s in spans]
    token_starts = [begin for begin, _ in encoding.offsets]
    for begin in token_starts:
        k = bisect.bisect_right(span_starts, begin) - 1
        counts[spans[k].part if k >= 0 and begin < spans[k].end else OTHER] += 1
    context = model.kv.context
    reserve = reply_reserve(config, context)
    dropped, dropped_tokens = _trim(messages, starts, token_starts, len(encoding.ids), reserve, context)
    return ContextMeter(context, reserve, counts[SYSTEM], counts[DOCUMENTS], counts[THOUGHTS], counts[ANSWERS],
                        counts[QUESTIONS], counts[OTHER], tuple(dropped), dropped_tokens)


def _trim(messages: Sequence[Message], starts: list[int], token_starts: list[int], total: int, reserve: int,
          context: int) -> tuple[list[int], int]:
    """The messages fit_prompt's rule drops, and their tokens (a message owns the tokens from its start to the
    next message's start)."""
    bounds = [*starts, token_starts[-1] + 1 if token_starts else 0]
    for i in range(len(starts) - 1, -1, -1):  # a message not found starts where the next one does
        if bounds[i] < 0:
            bounds[i] = bounds[i + 1]

    def tokens(i: int) -> int:
        return bisect.bisect_left(token_starts, bounds[i + 1]) - bisect.bisect_left(token_starts, bounds[i])

    first = 1 if messages and messages[0].role == "system" else 0
    turns = list(range(first, len(messages)))
    dropped: list[int] = []
    cut_tokens = 0
    while total - cut_tokens + reserve > context and len(turns) > 1:
        cut = oldest_turn([messages[i] for i in turns])
        for i in turns[:cut]:
            dropped.append(i)
            cut_tokens += tokens(i)
        del turns[:cut]
    return dropped, cut_tokens


def conversation_meter(store: ConversationStore, conversation_id: str, model: ChatModel, config: GenerationConfig,
                       *, draft: str = "", sources: Sequence[Source] | None = None) -> ContextMeter:
    """The meter for the conversation's next turn: its messages as the model will read them (its own reasoning
    settings applied to ``config``) and the question ``draft``; ``dropped`` holds stored message positions."""
    conv = store.get(conversation_id)
    history = prompt_messages(store, conversation_id)
    kept = [m.position for m in store.messages(conversation_id)
            if not (m.role == "assistant" and not m.content.strip())]  # the messages prompt_messages keeps
    system = len(history) - len(kept)
    meter = measure(model, [*history, Message("user", draft)], conversation_config(config, conv), sources=sources)
    positions = [-1] * system + kept + [-1]
    return replace(meter, dropped=tuple(positions[i] for i in meter.dropped))
