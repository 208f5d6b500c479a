"""Reasoning controls on a real tiny ONNX model: the thinking budget (engine, ``ponder run``, the API), "don't
think" with a template that has Qwen3's switch, the policy for earlier thoughts in the next prompt, no special
token in the text, and the context meter against the real trimming.

Only the tiny Qwen2 model with DeepSeek-R1's template is built here (trained, converted to int4): the controls do
not depend on the architecture, and building the three families would triple this module's set-up time.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import torch

from engine.chat.context_meter import conversation_meter, measure
from engine.chat.conversation import Reply, Send, send
from engine.chat.storage import ConversationStore
from engine.cli import main
from engine.documents.index import Hit
from engine.documents.retrieve import Source
from engine.models.store import install
from engine.runtime.generate import ChatModel, Finished, GenerationConfig, Notice, TextDelta
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message
from engine.serve.api.server import ApiServer
from engine.system.errors import PonderError
from tests.fixtures.checkpoints import (
    ASSISTANT,
    BOS,
    CHAT_TEMPLATE,
    EOS,
    PAD,
    TINY_QWEN2,
    USER,
    build_checkpoint,
    train_checkpoint,
)
from tests.fixtures.keyrings import MemoryKeyring
from tests.fixtures.models import ponder_home_env

GREEDY = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=60)
QUESTION = [Message("user", "What is 2+2?")]
THOUGHT = "Two plus two. Add them: the sum is four."
STRIP = "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
R1_PROMPT_END = "{{'<｜Assistant｜><think>\\n'}}"
# DeepSeek-R1's template with Qwen3's switch: enable_thinking=false closes the thought in the prompt
SWITCH_TEMPLATE = CHAT_TEMPLATE.replace(
    R1_PROMPT_END, "{{'<｜Assistant｜>'}}{% if enable_thinking is defined and enable_thinking is false %}"
                   "{{'<think>\\n\\n</think>\\n\\n'}}{% else %}{{'<think>\\n'}}{% endif %}")
# ... and without its stripping of earlier thoughts (as templates that keep them are)
KEEP_TEMPLATE = CHAT_TEMPLATE.replace(STRIP, "")


def with_template(src: Path, dest: Path, template: str) -> Path:
    """A copy of a converted model whose tokenizer config carries ``template``."""
    assert template != CHAT_TEMPLATE
    shutil.copytree(src, dest)
    config_path = dest / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] = template
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return dest


def prompt_text(model: ChatModel, done: Finished) -> str:
    """The prompt the reply was generated from, as the model read it (its KV cache's first tokens)."""
    return model.tokenizer.decode(model.kv.tokens[: done.stats.prompt_tokens], skip_special_tokens=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The trained tiny Qwen2 model with DeepSeek-R1's template, converted to int4 (in a PONDER_HOME of its own)."""
    from engine.models.convert.pipeline import convert_checkpoint

    root = tmp_path_factory.mktemp("reasoning-controls")
    checkpoint = train_checkpoint(build_checkpoint(root / "qwen2", TINY_QWEN2, dtype=torch.float32))
    with ponder_home_env(root / "home"):
        path = convert_checkpoint(checkpoint, "tiny-r1-int4", precision="int4").path
    yield path
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def r1(tiny: Path) -> ChatModel:
    return ChatModel(tiny, provider="cpu")


# thinking budget ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("budget", [0, 1, 3, 6])
def test_budget_closes_the_thought_and_the_model_answers(r1: ChatModel, budget: int) -> None:
    events = list(r1.stream_chat(QUESTION, GenerationConfig(SamplingParams(temperature=0), max_new_tokens=60,
                                                            thinking_budget=budget)))
    done = events[-1]
    assert isinstance(done, Finished) and done.finish_reason == "stop"
    assert done.stats.reasoning_tokens <= budget
    assert done.answer.strip() and not done.reasoning_unfinished
    assert done.stats.reasoning_closed_by == "budget"
    notices = [e for e in events if isinstance(e, Notice) and e.kind == "thinking_budget"]
    assert len(notices) == 1 and notices[0].value == done.stats.reasoning_tokens
    reasoning = "".join(e.text for e in events if isinstance(e, TextDelta) and e.channel == "reasoning")
    assert reasoning == done.reasoning and THOUGHT not in reasoning
    assert "</think>" not in done.answer + done.reasoning


def test_a_budget_larger_than_the_thought_changes_nothing(r1: ChatModel) -> None:
    free = r1.chat(QUESTION, GREEDY)
    budgeted = r1.chat(QUESTION, GenerationConfig(SamplingParams(temperature=0), max_new_tokens=60,
                                                  thinking_budget=free.stats.reasoning_tokens + 5))
    assert budgeted.token_ids == free.token_ids and budgeted.answer == "The answer is 4."
    assert budgeted.stats.reasoning_closed_by == "" and free.stats.reasoning_tokens > 6


def test_budget_is_checked() -> None:
    with pytest.raises(PonderError, match="thinking budget"):
        GenerationConfig(thinking_budget=-1)
    with pytest.raises(PonderError, match="earlier thoughts"):
        GenerationConfig(history_thoughts="forget")


def test_run_thinking_budget_json(tiny: Path, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path) -> None:
    shutil.copytree(tiny, tmp_path / "m")
    install(tmp_path / "m", "tiny")
    assert main(["run", "tiny", "What is 2+2?", "--temperature", "0", "--json", "--provider", "cpu",
                 "--thinking-budget", "3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    done = lines[-1]
    assert done["type"] == "done" and done["finish_reason"] == "stop" and done["reasoning_closed_by"] == "budget"
    assert done["reasoning_tokens"] <= 3 and done["answer_tokens"] > 0
    assert "".join(line["text"] for line in lines if line["type"] == "answer").strip()
    assert any(line["type"] == "notice" and line["kind"] == "thinking_budget" for line in lines)
    # an R1 distill must think: --no-think is refused with the reason, not silently ignored
    assert main(["run", "tiny", "What is 2+2?", "--no-think", "--provider", "cpu"]) != 0
    assert "always thinks" in capsys.readouterr().err


def test_api_thinking_budget_and_reasoning_effort(tiny: Path, tmp_path: Path,
                                                  memory_keyring: MemoryKeyring) -> None:
    shutil.copytree(tiny, tmp_path / "m")
    install(tmp_path / "m", "tiny")
    server = ApiServer(port=0, provider="cpu")
    server.start()
    try:
        api = openai.OpenAI(base_url=server.url, api_key=server.key, max_retries=0, timeout=60)
        for budget in (0, 3):
            reply = api.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "What is 2+2?"}],
                                                temperature=0, max_tokens=60, extra_body={"thinking_budget": budget})
            usage = reply.usage
            assert usage is not None and usage.completion_tokens_details is not None
            assert (usage.completion_tokens_details.reasoning_tokens or 0) <= budget
            assert (reply.choices[0].message.content or "").strip() and reply.choices[0].finish_reason == "stop"
            assert THOUGHT not in ((reply.choices[0].message.model_extra or {}).get("reasoning_content") or "")
        roomy = api.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "What is 2+2?"}],
                                            temperature=0, max_tokens=60, reasoning_effort="minimal")  # 256 tokens
        assert roomy.choices[0].message.content == "The answer is 4."
        with pytest.raises(openai.BadRequestError, match="always thinks"):
            api.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "What is 2+2?"}],
                                        reasoning_effort="none")
        for body in ({"thinking_budget": -1}, {"reasoning_effort": "extreme"}, {"enable_thinking": "no"},
                     {"thinking_budget": 5, "reasoning_effort": "low"}, {"history_thoughts": "forget"}):
            with pytest.raises(openai.BadRequestError):
                api.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}],
                                            extra_body=body)
    finally:
        server.stop()


# don't think ----------------------------------------------------------------------------------------------------

def test_dont_think_with_a_template_that_has_the_switch(tiny: Path, r1: ChatModel,
                                                        tmp_path: Path) -> None:
    assert not r1.supports_disable_thinking()
    with pytest.raises(PonderError, match="always thinks"):
        r1.stream_chat(QUESTION, GenerationConfig(enable_thinking=False))
    model = ChatModel(with_template(tiny, tmp_path / "m", SWITCH_TEMPLATE), provider="cpu")
    assert model.supports_disable_thinking()
    thinking = model.chat(QUESTION, GREEDY)  # the switch on: the same reply as R1's template gives
    assert thinking.reasoning.strip() == THOUGHT and thinking.answer == "The answer is 4."
    off = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=60, enable_thinking=False)
    events = list(model.stream_chat(QUESTION, off))
    done = events[-1]
    assert isinstance(done, Finished)
    assert prompt_text(model, done).endswith("<｜Assistant｜><think>\n\n</think>\n\n")
    assert done.reasoning == "" and done.stats.reasoning_tokens == 0 and done.answer.strip()
    assert all(e.channel == "answer" for e in events if isinstance(e, TextDelta))


# earlier thoughts in the next prompt --------------------------------------------------------------------------

def two_turns(model: ChatModel, store: ConversationStore, settings: dict[str, Any]) -> tuple[str, str]:
    """Ask two questions in a new conversation; (the first reply's thought, the second prompt as the model read
    it)."""
    conv = store.create()
    if settings:
        store.set_reasoning(conv.id, settings)
    list(send(store, Send(conv.id, "What is 2+2?"), Reply(model, "tiny", GREEDY)))
    first = store.messages(conv.id)[-1]
    assert first.reasoning.strip() == THOUGHT
    done = list(send(store, Send(conv.id, "Name a fast animal."), Reply(model, "tiny", GREEDY)))[-1]
    assert isinstance(done, Finished)
    return first.reasoning.strip(), prompt_text(model, done)


def test_history_policy_decides_whether_the_old_thought_is_in_the_prompt(
        tiny: Path, r1: ChatModel, tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    keeper = ChatModel(with_template(tiny, tmp_path / "m", KEEP_TEMPLATE), provider="cpu")
    assert keeper.default_history_thoughts() == "keep" and keeper.keeps_thoughts()
    thought, prompt = two_turns(keeper, store, {})
    assert thought in prompt and "The answer is 4." in prompt
    thought, prompt = two_turns(keeper, store, {"history_thoughts": "drop"})
    assert thought not in prompt and "The answer is 4." in prompt
    # R1: dropped by default, as DeepSeek's card says; its template strips them even when asked to keep
    assert r1.default_history_thoughts() == "drop" and not r1.keeps_thoughts()
    for settings in ({}, {"history_thoughts": "keep"}):
        thought, prompt = two_turns(r1, store, settings)
        assert thought not in prompt and "The answer is 4." in prompt


# special tokens -------------------------------------------------------------------------------------------------

def test_special_tokens_never_reach_the_text(r1: ChatModel) -> None:
    """With the end of sentence no longer ending the reply, the model goes on past it: its stray special tokens
    and tags are counted but never shown."""
    eos = set(r1.eos)
    r1.eos.clear()
    try:
        events = list(r1.stream_chat(QUESTION, GenerationConfig(SamplingParams(temperature=0),
                                                                max_new_tokens=160)))
    finally:
        r1.eos.update(eos)
    done = events[-1]
    assert isinstance(done, Finished)
    vocab = r1.tokenizer.get_vocab()
    emitted = set(done.token_ids)
    assert vocab[EOS] in emitted  # the model did emit the special token (else this test proves nothing)
    assert done.token_ids.count(vocab["</think>"]) >= 2  # ... and closed its thought more than once
    texts = [e.text for e in events if isinstance(e, TextDelta)] + [done.reasoning, done.answer]
    for special in (EOS, BOS, PAD, USER, ASSISTANT, "<think>", "</think>", "｜"):
        assert not any(special in t for t in texts), special


def source(number: int, text: str) -> Source:
    return Source(number, Hit(number, f"/docs/paper{number}.txt", "Paper", text, 0, len(text), None, (), 1.0,
                              1, 1, 0.9))


def test_documents_answer_shows_no_tags(r1: ChatModel, tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    conv = store.create()
    found = [source(1, "The cheetah runs fastest on land."), source(2, "Two plus two is four.")]
    events = list(send(store, Send(conv.id, "What is 2+2?"), Reply(r1, "tiny", GenerationConfig(
        SamplingParams(temperature=0), max_new_tokens=120), retriever=lambda q: found)))
    done = events[-1]
    assert isinstance(done, Finished)
    saved = store.messages(conv.id)[-1]
    for text in [e.text for e in events if isinstance(e, TextDelta)] + [saved.content, saved.reasoning]:
        assert "</think>" not in text and "<think>" not in text and "｜" not in text


# context meter --------------------------------------------------------------------------------------------------

def test_meter_counts_the_prompt_by_part(tiny: Path, r1: ChatModel,
                                         tmp_path: Path) -> None:
    history = [Message("system", "Be brief."), Message("user", "What is 2+2?"),
               Message("assistant", "The answer is 4.", THOUGHT), Message("user", "Name a fast animal.")]
    meter = measure(r1, history, GREEDY)
    ids, dropped = r1.fit_prompt(history, meter.reserve)
    assert meter.total == meter.used == len(ids) and dropped == 0 and meter.fits and not meter.dropped
    assert meter.context_size == r1.kv.context and meter.reserve == 60
    assert meter.system_tokens > 0 and meter.answer_tokens > 0 and meter.question_tokens > 0
    assert meter.thought_tokens == 0 and meter.documents_tokens == 0  # R1 drops the thought
    keeper = ChatModel(with_template(tiny, tmp_path / "m", KEEP_TEMPLATE), provider="cpu")
    kept = measure(keeper, history, GREEDY)
    assert kept.thought_tokens >= len(keeper.encode(THOUGHT)) - 1
    assert kept.total == len(keeper.fit_prompt(history, kept.reserve, keep_thoughts=True)[0])
    with_docs = measure(r1, history, GREEDY, sources=[source(1, "The cheetah runs fastest on land.")])
    assert with_docs.documents_tokens > len(r1.encode("The cheetah runs fastest on land."))
    assert abs(with_docs.question_tokens - meter.question_tokens) <= 1  # " What" may join the passage text


def test_meter_predicts_what_the_trimming_drops(tiny: Path, tmp_path: Path) -> None:
    model = ChatModel(tiny, provider="cpu", context=160)
    store = ConversationStore(tmp_path / "c.db")
    conv = store.create(system_prompt="Be brief.")
    for i in range(6):
        store.append(conv.id, "user", f"Old question number {i}?")
        store.append(conv.id, "assistant", f"Old answer {i}.", reasoning="Some old thinking.")
    config = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=40)
    meter = conversation_meter(store, conv.id, model, config, draft="What is 2+2?")
    assert not meter.fits and meter.warning and not meter.too_long
    events = list(model.stream_chat([Message("system", "Be brief."), *[
        Message(m.role, m.content) for m in store.messages(conv.id)], Message("user", "What is 2+2?")], config))
    done = events[-1]
    assert isinstance(done, Finished)
    assert len(meter.dropped) == done.stats.dropped_turns > 0
    assert meter.dropped == tuple(range(len(meter.dropped)))  # stored positions, oldest first
    assert meter.used == done.stats.prompt_tokens


def test_conversation_reasoning_settings_are_stored_and_used(r1: ChatModel, tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.db")
    conv = store.create(settings={"pinned": True})
    store.set_reasoning(conv.id, {"thinking_budget": 2, "history_thoughts": "drop"})
    reopened = ConversationStore(tmp_path / "c.db")
    assert reopened.get(conv.id).reasoning_settings() == {"thinking_budget": 2, "history_thoughts": "drop"}
    assert reopened.get(conv.id).settings["pinned"] is True
    done = list(send(reopened, Send(conv.id, "What is 2+2?"), Reply(r1, "tiny", GREEDY)))[-1]
    assert isinstance(done, Finished) and done.stats.reasoning_tokens <= 2 and done.answer.strip()
    assert reopened.messages(conv.id)[-1].stats["reasoning_closed_by"] == "budget"
    reopened.set_reasoning(conv.id, {}, clear=("thinking_budget",))
    assert reopened.get(conv.id).reasoning_settings() == {"history_thoughts": "drop"}
    for bad in ({"thinking_budget": -1}, {"thinking_budget": "lots"}, {"history_thoughts": "forget"},
                {"enable_thinking": "no"}, {"temperature": 1}):
        with pytest.raises(PonderError):
            reopened.set_reasoning(conv.id, bad)
    reopened.set_reasoning(conv.id, {"enable_thinking": False})  # an R1 distill cannot: the send says so
    with pytest.raises(PonderError, match="always thinks"):
        list(send(reopened, Send(conv.id, "Name a fast animal."), Reply(r1, "tiny", GREEDY)))
