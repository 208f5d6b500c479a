"""The chat actions — send, regenerate, edit and resend — as typed requests (:class:`Send`, :class:`Regenerate`,
:class:`EditAndResend`) answered by a :class:`Reply` (who answers and how); each runs as a generator of the reply's
events that also keeps the conversation on disk as the reply grows.

A reply from documents is checked once complete: each cited sentence against the passage it cites (the reply's
``checker``, see :mod:`engine.documents.citations`); the verdicts are saved with it (``stats["citations"]``) and
streamed as :class:`CitationsChecked`.

The conversation's own reasoning controls (thinking budget, "don't think", the policy for earlier thoughts; see
:meth:`engine.chat.storage.Conversation.reasoning_settings`) replace the reply's when it answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine.chat.storage import Conversation, ConversationStore, StoredMessage
from engine.documents.retrieve import Source, cited_prompt
from engine.runtime.generate import Controls, Event, Finished, GenerationConfig, TextDelta
from engine.runtime.template import Message
from engine.system.errors import PonderError

if TYPE_CHECKING:
    from engine.runtime.backend import ChatBackend

log = logging.getLogger(__name__)
SAVE_EVERY_S = 0.5
DEFAULT_TITLE = "New conversation"
LOCAL_ENGINE = "local"


@dataclass(frozen=True)
class ReplyStarted:
    """The assistant message that the following events fill (already saved, state "streaming")."""

    conversation_id: str
    message: StoredMessage
    user_message: StoredMessage | None
    sources: list[dict[str, Any]] = field(default_factory=list)  # the numbered sources the reply may cite


@dataclass(frozen=True)
class CitationsChecked:
    """The verdicts on a complete reply's citations, one per citation (see
    :meth:`engine.documents.citations.Verdict.to_dict`), as saved with the message (``stats["citations"]``)."""

    message_id: int
    verdicts: list[dict[str, Any]]


ReplyEvent = ReplyStarted | CitationsChecked | Event
Retriever = Callable[[str], list[Source]]
"""The attached documents of a conversation: a question in, the relevant passages out (numbered)."""
CitationChecker = Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]]
"""An answer and its sources (as kept with it) in, the verdict on each of its citations out."""


def prompt_messages(store: ConversationStore, conversation_id: str) -> list[Message]:
    """The conversation as the model reads it: its system prompt, then every finished or cut-off message (an
    answer with its thought, which the prompt keeps or drops as the conversation's policy says)."""
    conv = store.get(conversation_id)
    out = [Message("system", conv.system_prompt)] if conv.system_prompt.strip() else []
    for m in store.messages(conversation_id):
        if m.role == "assistant" and not m.content.strip():
            continue  # a reply cut off before it answered carries nothing to continue from
        out.append(Message(m.role, m.content, m.reasoning if m.role == "assistant" else ""))
    return out


def conversation_config(config: GenerationConfig, conv: Conversation) -> GenerationConfig:
    """``config`` with the conversation's own reasoning controls in place of the reply's."""
    return replace(config, **conv.reasoning_settings())


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 48 else line[:47].rstrip() + "…"


@dataclass(frozen=True)
class Reply:
    """Who answers and how: the model (local or a remote engine's) and its name, the generation settings, the
    controls that stop it, the conversation's documents (None: none attached) and, for the record, which engine
    runs the model ("local" or a remote engine's name)."""

    model: ChatBackend
    model_name: str
    config: GenerationConfig
    controls: Controls = field(default_factory=Controls)
    retriever: Retriever | None = None
    engine: str = LOCAL_ENGINE
    checker: CitationChecker | None = None


@dataclass(frozen=True)
class Send:
    """Add the person's message ``text`` and answer it."""

    conversation_id: str
    text: str


@dataclass(frozen=True)
class Regenerate:
    """Replace the last reply with a new one."""

    conversation_id: str


@dataclass(frozen=True)
class EditAndResend:
    """Replace the person's message at ``position`` with ``text`` (the later turns go) and answer it."""

    conversation_id: str
    position: int
    text: str


ChatAction = Send | Regenerate | EditAndResend


def _stream_reply(store: ConversationStore, conversation_id: str, reply: Reply,
                  user: StoredMessage | None) -> Iterator[ReplyEvent]:
    history = prompt_messages(store, conversation_id)
    config = conversation_config(reply.config, store.get(conversation_id))
    sources: list[dict[str, Any]] = []
    if reply.retriever is not None and history and history[-1].role == "user":
        # only the question being answered carries its passages; earlier turns stay short
        found = reply.retriever(history[-1].content)
        history[-1] = Message("user", cited_prompt(history[-1].content, found))
        sources = [s.to_dict() for s in found]
    extra = {"sources": sources} if reply.retriever is not None else {}
    events = reply.model.stream_chat(history, config, reply.controls)  # refuses bad settings before any is saved
    stored = store.append(conversation_id, "assistant", "", state="streaming", engine=reply.engine,
                          model=reply.model_name, stats=extra)
    yield ReplyStarted(conversation_id, stored, user, sources)
    text = {"reasoning": "", "answer": ""}
    saved = time.monotonic()
    final: Finished | None = None
    final_stats: dict[str, Any] = {}
    try:
        for event in events:
            if isinstance(event, TextDelta):
                text[event.channel] += event.text
                if time.monotonic() - saved >= SAVE_EVERY_S:
                    store.save_progress(stored.id, content=text["answer"], reasoning=text["reasoning"])
                    saved = time.monotonic()
            elif isinstance(event, Finished):
                state = "cancelled" if event.finish_reason == "cancelled" else "complete"
                final_stats = {**asdict(event.stats), "finish_reason": event.finish_reason,
                               "reasoning_unfinished": event.reasoning_unfinished, **extra}
                store.save_progress(stored.id, content=event.answer, reasoning=event.reasoning, state=state,
                                    stats=final_stats)
                final = event
            yield event
    except BaseException:
        store.save_progress(stored.id, content=text["answer"], reasoning=text["reasoning"], state="interrupted")
        raise
    if final is not None and final.finish_reason != "cancelled" and sources and reply.checker is not None:
        try:
            verdicts = reply.checker(final.answer, sources)
        except PonderError as err:  # the answer stands; it is shown without verdicts
            log.warning("The citations of message %s were not checked: %s", stored.id, err)
            return
        store.save_progress(stored.id, content=final.answer, reasoning=final.reasoning, state="complete",
                            stats={**final_stats, "citations": verdicts})
        yield CitationsChecked(stored.id, verdicts)


def send(store: ConversationStore, action: Send, reply: Reply) -> Iterator[ReplyEvent]:
    """Add the person's message and stream the reply (answered from the reply's documents when it has some)."""
    conv = store.get(action.conversation_id)
    user = store.append(action.conversation_id, "user", action.text)
    if conv.title == DEFAULT_TITLE:
        store.update(action.conversation_id, title=_title_from(action.text))
    yield from _stream_reply(store, action.conversation_id, reply, user)


def regenerate(store: ConversationStore, action: Regenerate, reply: Reply) -> Iterator[ReplyEvent]:
    """Replace the last reply with a new one (nothing happens in a conversation without a message)."""
    messages = store.messages(action.conversation_id)
    last_user = max((m.position for m in messages if m.role == "user"), default=None)
    if last_user is None:
        return
    store.truncate(action.conversation_id, last_user + 1)
    yield from _stream_reply(store, action.conversation_id, reply, None)


def edit_and_resend(store: ConversationStore, action: EditAndResend, reply: Reply) -> Iterator[ReplyEvent]:
    """Replace the person's message at the action's position (the later turns go) and stream a new reply."""
    store.truncate(action.conversation_id, action.position)
    user = store.append(action.conversation_id, "user", action.text)
    yield from _stream_reply(store, action.conversation_id, reply, user)


def perform(store: ConversationStore, action: ChatAction, reply: Reply) -> Iterator[ReplyEvent]:
    """Run any chat action: its reply's events, the conversation kept on disk as the reply grows."""
    if isinstance(action, Send):
        return send(store, action, reply)
    if isinstance(action, Regenerate):
        return regenerate(store, action, reply)
    return edit_and_resend(store, action, reply)
