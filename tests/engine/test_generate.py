"""Generation through the real runtime on real tiny ONNX models: parity over turns, streaming, controls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from engine.cli import main
from engine.models.store import install, list_installed
from engine.runtime.generate import ChatModel, Controls, Finished, GenerationConfig, Notice, TextDelta
from engine.runtime.providers import open_session
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message

GREEDY = GenerationConfig(SamplingParams(temperature=0), max_new_tokens=40)
QUESTIONS = ["What is 2+2?", "Say hello in Chinese.", "Name a fast animal."]


def torch_greedy(model: torch.nn.Module, prompt: list[int], n: int, eos: set[int]) -> list[int]:
    ids = torch.tensor([prompt])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False,
                         eos_token_id=sorted(eos), pad_token_id=2, temperature=None, top_p=None)
    tokens = out[0, len(prompt):].tolist()
    return tokens[: next((i for i, t in enumerate(tokens) if t in eos), len(tokens))]


@pytest.mark.parametrize("family", ["qwen2", "llama"])
def test_greedy_parity_over_turns_with_prefix_reuse(family: str, tiny_checkpoints: dict[str, Path],
                                                    converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[(family, "fp32")], provider="cpu")
    hf = AutoModelForCausalLM.from_pretrained(tiny_checkpoints[family], dtype=torch.float32)
    messages: list[Message] = []
    for turn, question in enumerate(QUESTIONS):
        messages.append(Message("user", question))
        prompt, _ = model.fit_prompt(messages, min(GREEDY.max_new_tokens, model.kv.context // 4))
        result = model.chat(messages, GREEDY)
        assert list(result.token_ids) == torch_greedy(hf, prompt, GREEDY.max_new_tokens, model.eos)
        if turn:
            assert result.stats.reused_tokens > 0
        fresh = ChatModel(converted[(family, "fp32")], provider="cpu").chat(messages, GREEDY)
        assert fresh.token_ids == result.token_ids and fresh.stats.reused_tokens == 0
        messages.append(Message("assistant", f"{result.reasoning}</think>\n\n{result.answer}"))


def test_stream_splits_reasoning_and_answer(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    events = list(model.stream_chat([Message("user", "What is 2+2?")], GREEDY))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    done = events[-1]
    assert isinstance(done, Finished) and done.finish_reason == "stop"
    channels = [d.channel for d in deltas]
    assert channels == sorted(channels, key=lambda c: c == "answer")  # all reasoning, then all answer
    assert "".join(d.text for d in deltas if d.channel == "reasoning") == done.reasoning
    assert done.reasoning.strip() == "Two plus two. Add them: the sum is four."
    assert done.answer == "The answer is 4."
    text = model.tokenizer.decode(list(done.token_ids), skip_special_tokens=False)
    assert text == done.reasoning + "</think>\n\n" + done.answer
    s = done.stats
    assert s.generated_tokens == len(done.token_ids) and s.reasoning_tokens + s.answer_tokens == s.generated_tokens
    assert s.time_to_first_token_s > 0 and s.decode_tokens_per_s > 0 and s.provider == "cpu"
    assert deltas[-1].tokens == s.generated_tokens


def test_chinese_and_emoji_stream_without_broken_characters(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("llama", "int4")], provider="cpu")
    for question, answer in (("Say hello in Chinese.", "你好！"), ("Give me an emoji.", "🙂")):
        events = list(model.stream_chat([Message("user", question)],
                                        GenerationConfig(SamplingParams(temperature=0), max_new_tokens=120)))
        assert all("\ufffd" not in e.text for e in events if isinstance(e, TextDelta))
        assert events[-1].answer == answer  # type: ignore[union-attr]


def test_cancel_takes_effect_within_one_token(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    controls = Controls()
    seen = 0
    for event in model.stream_chat([Message("user", "What is 2+2?")], GREEDY, controls):
        if isinstance(event, TextDelta):
            seen = event.tokens
            if seen == 5:
                controls.cancel()
        elif isinstance(event, Finished):
            assert event.finish_reason == "cancelled"
            assert event.stats.generated_tokens == 5 and seen == 5
            assert event.reasoning_unfinished


def test_answer_now_closes_the_reasoning(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    controls = Controls()
    for event in model.stream_chat([Message("user", "What is 2+2?")], GREEDY, controls):
        if isinstance(event, TextDelta) and event.tokens == 4:
            controls.answer_now()
        last = event
    assert isinstance(last, Finished)
    assert not last.reasoning_unfinished
    assert last.reasoning.strip() == model.tokenizer.decode(list(last.token_ids[:4])).strip() == "Two"
    assert last.answer  # the model went on to answer
    assert last.stats.reasoning_tokens == 4


def test_stop_strings_and_max_tokens(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    stopped = model.chat([Message("user", "What is 2+2?")], GenerationConfig(SamplingParams(temperature=0),
                                                                              stop=("the sum",)))
    assert stopped.finish_reason == "stop_string" and stopped.reasoning == "Two plus two. Add them: "
    short = model.chat([Message("user", "What is 2+2?")], GenerationConfig(SamplingParams(temperature=0),
                                                                            max_new_tokens=3))
    assert short.finish_reason == "length" and short.stats.generated_tokens == 3 and short.reasoning_unfinished


def test_context_overflow_drops_oldest_turns_but_keeps_system_and_question(
        converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu", context=160)
    history = [Message("system", "Be brief.")]
    for i in range(6):
        history += [Message("user", f"Old question number {i}?"), Message("assistant", f"Old answer {i}.")]
    history.append(Message("user", "What is 2+2?"))
    events = list(model.stream_chat(history, GenerationConfig(SamplingParams(temperature=0), max_new_tokens=40)))
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and notices[0].kind == "context_trimmed" and notices[0].value >= 2
    prompt = model.tokenizer.decode(model.kv.tokens[: events[-1].stats.prompt_tokens],  # type: ignore[union-attr]
                                    skip_special_tokens=False)
    assert "Be brief." in prompt and "What is 2+2?" in prompt and "Old question number 0" not in prompt
    assert events[-1].stats.dropped_turns == notices[0].value  # type: ignore[union-attr]


def test_seeded_sampling_is_reproducible(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cpu")
    config = GenerationConfig(SamplingParams(temperature=1.5, top_p=1.0, seed=11), max_new_tokens=20)
    question = [Message("user", "Name a fast animal.")]
    assert model.chat(question, config).token_ids == model.chat(question, config).token_ids


def test_provider_that_cannot_start_falls_back_with_its_reason(converted: dict[tuple[str, str], Path]) -> None:
    model = ChatModel(converted[("qwen2", "int4")], provider="cuda")
    assert model.kv.choice.provider == "cpu" and "CUDA" in model.kv.choice.reason
    _, choice = open_session(converted[("qwen2", "int4")] / "model.onnx", "dml")
    assert choice.provider == "cpu"
    done = model.chat([Message("user", "What is 2+2?")], GREEDY)
    assert done.answer == "The answer is 4." and "CUDA" in done.stats.provider_reason


def test_run_json_lines(converted: dict[tuple[str, str], Path], capsys: pytest.CaptureFixture[str],
                        tmp_path: Path) -> None:
    import shutil

    shutil.copytree(converted[("qwen2", "int4")], tmp_path / "m")
    install(tmp_path / "m", "tiny")
    assert [m.name for m in list_installed()] == ["tiny"]
    assert main(["run", "tiny", "What is 2+2?", "--temperature", "0", "--json", "--provider", "cpu"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["type"] for line in lines} == {"reasoning", "answer", "done"}
    assert "".join(line["text"] for line in lines if line["type"] == "answer") == "The answer is 4."
    assert lines[-1]["type"] == "done" and lines[-1]["finish_reason"] == "stop"
    assert main(["bench", "tiny", "--context", "16,64", "--decode-tokens", "8", "--json"]) == 0
    bench = json.loads(capsys.readouterr().out)
    assert [r["context"] for r in bench["results"]] == [16, 64]
    assert all(r["decode_tokens_per_s"] > 0 for r in bench["results"])
