"""One function per chat action — send, regenerate, edit and resend — each a generator of the reply's events
that also keeps the conversation on disk as the reply grows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.chat.storage import ConversationStore, StoredMessage
from engine.chat.template import Message
from engine.documents.retrieve import Source, cited_prompt
from engine.runtime.generate import Controls, Event, Finished, GenerationConfig, TextDelta

if TYPE_CHECKING:
    from engine.remote import ChatBackend

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


ReplyEvent = ReplyStarted | Event
Retriever = Callable[[str], list[Source]]
"""The attached documents of a conversation: a question in, the relevant passages out (numbered)."""


def prompt_messages(store: ConversationStore, conversation_id: str) -> list[Message]:
    """The conversation as the model reads it: its system prompt, then every finished or cut-off message."""
    conv = store.get(conversation_id)
    out = [Message("system", conv.system_prompt)] if conv.system_prompt.strip() else []
    for m in store.messages(conversation_id):
        if m.role == "assistant" and not m.content.strip():
            continue  # a reply cut off before it answered carries nothing to continue from
        out.append(Message(m.role, m.content))
    return out


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 48 else line[:47].rstrip() + "…"


def _stream_reply(store: ConversationStore, model: ChatBackend, model_name: str, conversation_id: str,
                  config: GenerationConfig, controls: Controls, user: StoredMessage | None,
                  retriever: Retriever | None, engine: str) -> Iterator[ReplyEvent]:
    history = prompt_messages(store, conversation_id)
    sources: list[dict[str, Any]] = []
    if retriever is not None and history and history[-1].role == "user":
        # only the question being answered carries its passages; earlier turns stay short
        found = retriever(history[-1].content)
        history[-1] = Message("user", cited_prompt(history[-1].content, found))
        sources = [s.to_dict() for s in found]
    extra = {"sources": sources} if retriever is not None else {}
    reply = store.append(conversation_id, "assistant", "", state="streaming", engine=engine, model=model_name,
                         stats=extra)
    yield ReplyStarted(conversation_id, reply, user, sources)
    text = {"reasoning": "", "answer": ""}
    saved = time.monotonic()
    try:
        for event in model.stream_chat(history, config, controls):
            if isinstance(event, TextDelta):
                text[event.channel] += event.text
                if time.monotonic() - saved >= SAVE_EVERY_S:
                    store.save_progress(reply.id, content=text["answer"], reasoning=text["reasoning"])
                    saved = time.monotonic()
            elif isinstance(event, Finished):
                state = "cancelled" if event.finish_reason == "cancelled" else "complete"
                store.save_progress(reply.id, content=event.answer, reasoning=event.reasoning, state=state,
                                    stats={**asdict(event.stats), "finish_reason": event.finish_reason,
                                           "reasoning_unfinished": event.reasoning_unfinished, **extra})
            yield event
    except BaseException:
        store.save_progress(reply.id, content=text["answer"], reasoning=text["reasoning"], state="interrupted")
        raise


def send(store: ConversationStore, model: ChatBackend, model_name: str, conversation_id: str, text: str,
         config: GenerationConfig, controls: Controls, retriever: Retriever | None = None, *,
         engine: str = LOCAL_ENGINE) -> Iterator[ReplyEvent]:
    """Add the person's message and stream the reply (answered from ``retriever``'s passages when given);
    ``engine`` names who runs ``model`` ("local", or a remote engine's name) for the record."""
    conv = store.get(conversation_id)
    user = store.append(conversation_id, "user", text)
    if conv.title == DEFAULT_TITLE:
        store.update(conversation_id, title=_title_from(text))
    yield from _stream_reply(store, model, model_name, conversation_id, config, controls, user, retriever, engine)


def regenerate(store: ConversationStore, model: ChatBackend, model_name: str, conversation_id: str,
               config: GenerationConfig, controls: Controls, retriever: Retriever | None = None, *,
               engine: str = LOCAL_ENGINE) -> Iterator[ReplyEvent]:
    """Replace the last reply with a new one."""
    messages = store.messages(conversation_id)
    last_user = max((m.position for m in messages if m.role == "user"), default=None)
    if last_user is None:
        return
    store.truncate(conversation_id, last_user + 1)
    yield from _stream_reply(store, model, model_name, conversation_id, config, controls, None, retriever, engine)


def edit_and_resend(store: ConversationStore, model: ChatBackend, model_name: str, conversation_id: str,
                    position: int, text: str, config: GenerationConfig, controls: Controls,
                    retriever: Retriever | None = None, *, engine: str = LOCAL_ENGINE) -> Iterator[ReplyEvent]:
    """Replace the person's message at ``position`` (the later turns go) and stream a new reply."""
    store.truncate(conversation_id, position)
    user = store.append(conversation_id, "user", text)
    yield from _stream_reply(store, model, model_name, conversation_id, config, controls, user, retriever, engine)
