"""Chat actions on a real model keep the conversation on disk as the reply grows."""

from __future__ import annotations

from pathlib import Path

from engine.chat.conversation import (
    EditAndResend,
    Regenerate,
    Reply,
    ReplyStarted,
    Send,
    edit_and_resend,
    perform,
    prompt_messages,
    regenerate,
    send,
)
from engine.chat.storage import ConversationStore
from engine.runtime.generate import ChatModel, Controls, Finished, GenerationConfig, TextDelta
from engine.runtime.sampling import SamplingParams

GREEDY = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=60)


def test_send_regenerate_edit(converted: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    conv = store.create()
    events = list(send(store, Send(conv.id, "What is 2+2?"), Reply(model, "tiny", GREEDY)))
    assert isinstance(events[0], ReplyStarted) and isinstance(events[-1], Finished)
    user, reply = store.messages(conv.id)
    assert user.content == "What is 2+2?" and reply.content == "The answer is 4." and reply.state == "complete"
    assert reply.reasoning.strip() == "Two plus two. Add them: the sum is four."
    assert reply.model == "tiny" and reply.engine == "local" and reply.stats["generated_tokens"] > 0
    assert store.get(conv.id).title == "What is 2+2?"

    again = list(regenerate(store, Regenerate(conv.id), Reply(model, "tiny", GREEDY)))
    assert [m.role for m in store.messages(conv.id)] == ["user", "assistant"]
    assert again[-1].answer == "The answer is 4."  # type: ignore[union-attr]

    list(edit_and_resend(store, EditAndResend(conv.id, 0, "Name a fast animal."), Reply(model, "tiny", GREEDY)))
    msgs = store.messages(conv.id)
    assert [m.content for m in msgs] == ["Name a fast animal.", "The cheetah."]


def test_cancelled_reply_is_saved_as_cancelled_with_its_text(converted: dict[tuple[str, str], Path],
                                                              tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    conv = store.create(system_prompt="Be brief.")
    controls = Controls()
    for event in perform(store, Send(conv.id, "What is 2+2?"), Reply(model, "tiny", GREEDY, controls)):
        if isinstance(event, TextDelta) and event.tokens == 6:
            controls.cancel()
    reply = store.messages(conv.id)[-1]
    assert reply.state == "cancelled" and reply.reasoning and reply.stats["finish_reason"] == "cancelled"
    assert prompt_messages(store, conv.id)[0].content == "Be brief."
