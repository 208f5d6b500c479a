"""Conversation storage: CRUD, search in any language, exports, and survival of a kill mid-stream."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.chat.storage import ConversationStore
from engine.system.errors import PonderError
from tests.fixtures.processes import kill_writer_midway


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "c.db")


def test_conversations_and_messages(store: ConversationStore) -> None:
    conv = store.create("Maths", model="tiny", system_prompt="Be brief.")
    store.append(conv.id, "user", "What is 2+2?")
    answer = store.append(conv.id, "assistant", "4", reasoning="Two plus two.", engine="local", model="tiny")
    assert [m.position for m in store.messages(conv.id)] == [0, 1]
    assert answer.reasoning == "Two plus two." and answer.engine == "local"
    renamed = store.update(conv.id, title="Arithmetic")
    assert renamed.title == "Arithmetic" and renamed.system_prompt == "Be brief."
    other = store.create("Later")
    assert [c.id for c in store.conversations()] == [other.id, conv.id]
    store.delete(conv.id)
    assert [c.id for c in store.conversations()] == [other.id]
    assert store.messages(conv.id) == []
    with pytest.raises(PonderError, match="No conversation"):
        store.get(conv.id)


def test_search_english_chinese_and_titles(store: ConversationStore) -> None:
    a = store.create("Travel plans")
    store.append(a.id, "user", "How do I say thank you in Chinese?")
    store.append(a.id, "assistant", "谢谢 (xièxie).", reasoning="Common phrase: 谢谢你的帮助")
    b = store.create("Code")
    store.append(b.id, "user", "Write a Python add function")
    assert [c.id for c in store.conversations("python")] == [b.id]
    assert [c.id for c in store.conversations("谢谢")] == [a.id]  # two characters: below the trigram length
    assert [c.id for c in store.conversations("你的帮助")] == [a.id]  # in the reasoning, via FTS
    assert [c.id for c in store.conversations("travel")] == [a.id]
    assert store.conversations("100%_match") == []


def test_truncate_for_edit_and_regenerate(store: ConversationStore) -> None:
    conv = store.create()
    for role, text in [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]:
        store.append(conv.id, role, text)
    store.truncate(conv.id, 2)
    store.append(conv.id, "user", "q2 edited")
    assert [m.content for m in store.messages(conv.id)] == ["q1", "a1", "q2 edited"]
    assert store.conversations("q2 edited")[0].id == conv.id


def test_exports(store: ConversationStore) -> None:
    conv = store.create("Demo", system_prompt="Be kind.")
    store.append(conv.id, "user", "Hi")
    msg = store.append(conv.id, "assistant", "", state="streaming", model="tiny")
    store.save_progress(msg.id, content="Hello!", reasoning="Greet back.\nKeep it short.", state="interrupted")
    md = store.export_markdown(conv.id)
    assert md.startswith("# Demo") and "> Greet back.\n> Keep it short." in md and "*(interrupted)*" in md
    data = json.loads(store.export_json(conv.id))
    assert data["conversation"]["title"] == "Demo" and data["messages"][1]["content"] == "Hello!"


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from engine.chat.storage import ConversationStore
    store = ConversationStore(Path(sys.argv[1]))
    conv = store.create("Streaming")
    store.append(conv.id, "user", "Tell me a long story")
    msg = store.append(conv.id, "assistant", "", state="streaming")
    text = ""
    for i in range(100000):
        text += f"word{i} "
        store.save_progress(msg.id, content=text, reasoning="thinking", state="streaming")
        if i == 50:
            print("streaming", flush=True)
""")


def test_kill_mid_stream_leaves_an_intact_database_with_the_message_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    kill_writer_midway(WRITER, db, "streaming", 0.3)
    store = ConversationStore(db)
    assert store.mark_interrupted() == 1
    [conv] = store.conversations()
    user, reply = store.messages(conv.id)
    assert user.content == "Tell me a long story"
    assert reply.state == "interrupted" and reply.content.startswith("word0 word1 ") and reply.reasoning == "thinking"
    assert store.mark_interrupted() == 0
