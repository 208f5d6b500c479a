"""One reply, apart from the widgets: the work that runs on the model host's thread (load the model or reach the
remote engine, retrieve from the conversation's documents, perform the chat action, check the citations of the
answer), and what the events it streams do to the transcript's live row."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from desktop.chat.header import ModelChoice
from desktop.chat.transcript import Row
from engine.chat import conversation as actions
from engine.chat.storage import ConversationStore, StoredMessage
from engine.documents.citations import check_sources
from engine.documents.embed import hosted_embedder
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import embedder_folder
from engine.documents.rerank import hosted_reranker
from engine.documents.rerankers import reranker_folder
from engine.documents.retrieve import Source, retrieve
from engine.runtime.generate import Controls, Finished, GenerationConfig, TextDelta
from engine.runtime.host import ChatKey, ModelHost
from engine.runtime.sampling import SamplingParams
from engine.serve.remote_engines import RemoteEngines
from engine.system.settings import Settings


def generation_config(settings: Settings) -> GenerationConfig:
    """Sampling and length as Settings say."""
    return GenerationConfig(SamplingParams(temperature=settings.temperature, top_p=settings.top_p),
                            max_new_tokens=settings.max_tokens)


def reply_work(store: ConversationStore, host: ModelHost, action: actions.ChatAction, choice: ModelChoice,
               settings: Settings, controls: Controls, collection: str,
               index: DocumentIndex) -> Callable[[], Iterator[Any]]:
    """The generator factory a GeneratorWorker runs on the model host's thread: it gets the model (loading happens
    there too) and the retriever of ``collection`` ("" for none), then performs ``action``."""
    config = generation_config(settings)

    def documents() -> tuple[actions.Retriever | None, actions.CitationChecker | None]:
        if not collection:  # on the model host's thread, which owns the embedder session
            return None, None
        embedder = hosted_embedder(host, embedder_folder())
        folder = reranker_folder()  # None unless the person chose one: reranking is off by default
        reranker = hosted_reranker(host, folder) if folder is not None else None

        def retriever(question: str) -> list[Source]:
            return retrieve(index, embedder, collection, question, reranker=reranker)

        def checker(answer: str, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [v.to_dict() for v in check_sources(answer, sources, embedder)]

        return retriever, checker

    def factory() -> Iterator[Any]:
        retriever, checker = documents()
        if choice.engine is not None:
            reply = actions.Reply(RemoteEngines().chat_model(choice.engine, choice.name), choice.name, config,
                                  controls, retriever, choice.engine, checker)
        else:
            assert choice.path is not None
            key = ChatKey(choice.path, settings.provider, settings.threads or None, settings.context_length)
            reply = actions.Reply(host.chat(key), choice.name, config, controls, retriever, checker=checker)
        return actions.perform(store, action, reply)

    return factory


def stored_row(m: StoredMessage) -> Row:
    """A saved message as the transcript shows it."""
    return Row(id=m.id, role=m.role, content=m.content, reasoning=m.reasoning, state=m.state, model=m.model,
               stats=m.stats, engine=m.engine)


def live_row(message: StoredMessage) -> Row:
    """The row of a reply that has just started streaming."""
    return Row(id=message.id, role="assistant", model=message.model, state="streaming", streaming=True,
               started=time.monotonic(), stats=dict(message.stats), engine=message.engine)


def add_text(live: Row, event: TextDelta) -> bool:
    """Add streamed text to the live row; True when it is the first of the answer (the reasoning has ended)."""
    if event.channel == "reasoning":
        live.reasoning += event.text
        live.reasoning_tokens = event.tokens  # all tokens so far are reasoning ones while it lasts
        return False
    first = live.reasoning_s is None
    if first:
        live.reasoning_s = time.monotonic() - live.started
    live.content += event.text
    return first


def add_verdicts(live: Row, event: actions.CitationsChecked) -> None:
    """The answer's citations have been checked: the row shows the verdicts (as the saved message does)."""
    live.stats = {**live.stats, "citations": event.verdicts}


def finish(live: Row, event: Finished) -> None:
    """The reply has ended: the row takes the final text, state and figures."""
    live.streaming = False
    live.content, live.reasoning = event.answer, event.reasoning
    live.state = "cancelled" if event.finish_reason == "cancelled" else "complete"
    live.stats = {**live.stats, **asdict(event.stats), "reasoning_unfinished": event.reasoning_unfinished}
    live.reasoning_tokens = event.stats.reasoning_tokens or live.reasoning_tokens
    if live.reasoning_s is None and event.reasoning:
        live.reasoning_s = event.stats.reasoning_s
