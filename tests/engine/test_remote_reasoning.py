"""Reasoning controls for remote engines, against the scripted OpenAI-compatible server on loopback: what the
request carries per kind of server ("don't think", the budget, earlier thoughts), the thinking budget enforced on
the client (the stream cut, then the answer asked for), and a Notice for each control a server cannot honour."""

from __future__ import annotations

from typing import Any

import pytest

from engine.runtime.generate import Controls, Event, Finished, GenerationConfig, Notice, TextDelta
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message
from engine.serve.remote_chat import RemoteChatModel
from engine.serve.remote_http import RemoteEngine
from engine.serve.remote_reasoning import (
    DEEPSEEK,
    GENERIC,
    OLLAMA,
    OPENAI,
    PONDER,
    SGLANG,
    VLLM,
    effort,
    estimate_tokens,
    plan_request,
    server_kind,
)
from tests.fixtures.remote import FakeRemote, fake

__all__ = ["fake"]

QUESTION = [Message("user", "What is 2+2?")]
HISTORY = [Message("user", "What is 1+1?"), Message("assistant", "It is 2.", "One and one make two."),
           Message("user", "And 2+2?")]
LONG_THOUGHT = [{"reasoning_content": f"step {i} "} for i in range(400)]
ANSWER = [{"content": "The answer"}, {"content": " is 4."}]


def config(**kw: Any) -> GenerationConfig:
    return GenerationConfig(SamplingParams(temperature=0), max_new_tokens=500, **kw)


def run(remote: FakeRemote, url: str, cfg: GenerationConfig, messages: list[Message] | None = None,
        server: str | None = None) -> tuple[list[Event], Finished]:
    model = RemoteChatModel(RemoteEngine("lab", url), "fake-r1", server=server)
    events = list(model.stream_chat(messages or QUESTION, cfg, Controls()))
    done = events[-1]
    assert isinstance(done, Finished)
    return events, done


def notices(events: list[Event], kind: str) -> list[Notice]:
    return [e for e in events if isinstance(e, Notice) and e.kind == kind]


def shown(events: list[Event], channel: str) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.channel == channel)


def test_the_kind_of_server_comes_from_its_address_or_model_list() -> None:
    assert server_kind("https://api.openai.com/v1") == OPENAI
    assert server_kind("https://api.deepseek.com/v1") == DEEPSEEK
    assert server_kind("http://10.0.0.5:8000/v1", ["vllm"]) == VLLM
    assert server_kind("http://10.0.0.5:30000/v1", ["sglang"]) == SGLANG
    assert server_kind("http://10.0.0.5:8000/v1", ["ponder"]) == PONDER
    assert server_kind("http://10.0.0.5:9000/v1", ["library"]) == OLLAMA
    assert server_kind("http://10.0.0.5:11434/v1") == OLLAMA
    assert server_kind("http://10.0.0.5:8000/v1", ["organization_owner"]) == GENERIC
    assert [effort(b) for b in (0, 1024, 4095, 4096, 16384, 99999)] == ["low", "low", "low", "medium", "high", "high"]
    assert estimate_tokens(3, 40) == 10 and estimate_tokens(30, 40) == 30


@pytest.mark.parametrize(("owned_by", "fields"), [
    ("vllm", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("llamacpp", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("someone", {"chat_template_kwargs": {"enable_thinking": False}}),
    ("library", {"reasoning_effort": "none"}),
    ("ponder", {"enable_thinking": False}),
])
def test_dont_think_is_sent_as_the_server_takes_it(fake: tuple[FakeRemote, str], owned_by: str,
                                                   fields: dict[str, Any]) -> None:
    remote, url = fake
    remote.owned_by, remote.chunks = owned_by, ANSWER
    events, done = run(remote, url, config(enable_thinking=False))
    body = remote.requests[-1]
    assert {k: body.get(k) for k in fields} == fields
    assert not {"chat_template_kwargs", "reasoning_effort", "enable_thinking"} - set(fields) & set(body)
    assert done.answer == "The answer is 4." and not [e for e in events if isinstance(e, Notice)]


def test_a_remote_that_thinks_anyway_is_named(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.owned_by, remote.chunks = "vllm", [{"reasoning_content": "Hmm."}, *ANSWER]
    events, done = run(remote, url, config(enable_thinking=False))
    assert len(notices(events, "thinking_not_disabled")) == 1 and done.reasoning == "Hmm."


def test_budget_fields_per_server(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.chunks = ANSWER
    remote.owned_by = "ponder"
    run(remote, url, config(thinking_budget=300))
    assert remote.requests[-1]["thinking_budget"] == 300 and "reasoning_effort" not in remote.requests[-1]
    remote.owned_by = "vllm"
    run(remote, url, config(thinking_budget=300))
    assert not {"thinking_budget", "reasoning_effort"} & set(remote.requests[-1])  # enforced by the client


def test_openai_gets_an_effort_and_a_notice_that_it_is_approximate() -> None:
    plan = plan_request(OPENAI, QUESTION, config(thinking_budget=5000))
    assert plan.fields == {"reasoning_effort": "medium"} and plan.client_budget == 5000
    assert [n.kind for n in plan.notices] == ["control_unsupported"] and "approximate" in plan.notices[0].message
    off = plan_request(OPENAI, QUESTION, config(enable_thinking=False))
    assert off.fields == {"reasoning_effort": "low"} and "cannot turn" in off.notices[0].message


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_history_policy_changes_the_messages_sent(fake: tuple[FakeRemote, str], policy: str) -> None:
    remote, url = fake
    remote.chunks = ANSWER
    run(remote, url, config(history_thoughts=policy), HISTORY)
    sent = remote.requests[-1]["messages"]
    assert [m["content"] for m in sent] == ["What is 1+1?", "It is 2.", "And 2+2?"]
    if policy == "keep":
        assert sent[1]["reasoning_content"] == "One and one make two."
    else:
        assert "reasoning_content" not in sent[1]
    assert "history_thoughts" not in remote.requests[-1]  # only another Ponder takes the field


def test_the_default_policy_drops_and_another_ponder_is_told(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.chunks, remote.owned_by = ANSWER, "ponder"
    run(remote, url, config(), [Message("user", "q"), Message("assistant", "<think>old</think>a"), *HISTORY[2:]])
    assert remote.requests[-1]["messages"][1] == {"role": "assistant", "content": "a"}
    run(remote, url, config(history_thoughts="keep"), HISTORY)
    assert remote.requests[-1]["history_thoughts"] == "keep"


def test_deepseek_cannot_take_earlier_thoughts_and_says_so() -> None:
    plan = plan_request(DEEPSEEK, HISTORY, config(history_thoughts="keep"))
    assert "reasoning_content" not in plan.messages[1] and "refuses earlier thoughts" in plan.notices[0].message
    off = plan_request(DEEPSEEK, QUESTION, config(enable_thinking=False))
    assert not off.fields and off.notices[0].kind == "control_unsupported"


@pytest.mark.parametrize("inline", [False, True])
def test_a_budget_smaller_than_the_thought_cuts_it_and_asks_for_the_answer(fake: tuple[FakeRemote, str],
                                                                           inline: bool) -> None:
    remote, url = fake
    remote.owned_by = "vllm"
    remote.chunks = ([{"content": "<think>"}, *({"content": c["reasoning_content"]} for c in LONG_THOUGHT)]
                     if inline else LONG_THOUGHT)
    remote.delay_s = 0.002
    remote.continuation = [{"reasoning_content": "The answer"}, {"content": " is 4.</think>"}]  # a parser unaware
    events, done = run(remote, url, config(thinking_budget=20))
    assert done.stats.reasoning_tokens <= 20 and estimate_tokens(
        sum(1 for e in events if isinstance(e, TextDelta) and e.channel == "reasoning"), len(done.reasoning)) <= 20
    assert done.reasoning.startswith("step 0") and shown(events, "reasoning") == done.reasoning
    assert done.answer == "The answer is 4." and shown(events, "answer") == done.answer
    assert done.finish_reason == "stop" and not done.reasoning_unfinished
    assert done.stats.reasoning_closed_by == "budget"
    assert len(notices(events, "thinking_budget")) == 1
    assert remote.sent[0] < len(remote.chunks) // 2  # the long thought's stream was closed, not read to its end
    first, second = remote.requests
    assert second["messages"][:-1] == first["messages"] and second["continue_final_message"] is True
    prefix = second["messages"][-1]
    assert prefix["role"] == "assistant" and prefix["content"].endswith("</think>\n\n")
    assert done.reasoning.strip() in prefix["content"] and second["add_generation_prompt"] is False


def test_ollama_continues_without_vllm_flags(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.owned_by, remote.chunks, remote.continuation = "library", LONG_THOUGHT, ANSWER
    _, done = run(remote, url, config(thinking_budget=5))
    assert done.answer == "The answer is 4." and "continue_final_message" not in remote.requests[1]


def test_a_server_that_refuses_to_continue_ends_with_the_thought_and_a_notice(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.chunks, remote.refuse_continuation = LONG_THOUGHT, True
    events, done = run(remote, url, config(thinking_budget=10))
    refusal = notices(events, "control_unsupported")
    assert len(refusal) == 1 and "HTTP 400" in refusal[0].message and "last message" in refusal[0].message
    assert done.answer == "" and done.reasoning_unfinished and done.finish_reason == "length"
    assert done.stats.reasoning_closed_by == ""


def test_a_server_that_cannot_continue_hides_the_rest_of_the_thought(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.chunks = [*LONG_THOUGHT[:50], *ANSWER]
    events, done = run(remote, url, config(thinking_budget=10), server=DEEPSEEK)
    assert len(notices(events, "thinking_budget")) == 1 and len(remote.requests) == 1
    assert estimate_tokens(sum(1 for e in events if isinstance(e, TextDelta) and e.channel == "reasoning"),
                           len(done.reasoning)) <= 10
    assert "step 49" not in done.reasoning and done.answer == "The answer is 4."
    assert done.stats.reasoning_tokens == 50  # what the server really spent (one chunk each)


def test_no_budget_and_no_controls_send_nothing_extra(fake: tuple[FakeRemote, str]) -> None:
    remote, url = fake
    remote.chunks = LONG_THOUGHT[:30] + ANSWER
    events, done = run(remote, url, config())
    body = remote.requests[-1]
    assert not {"chat_template_kwargs", "reasoning_effort", "thinking_budget", "history_thoughts"} & set(body)
    assert len(done.reasoning.split("step")) == 31 and not [e for e in events if isinstance(e, Notice)]


@pytest.mark.parametrize("server", [VLLM, DEEPSEEK])
def test_answer_now_cuts_a_remote_thought(fake: tuple[FakeRemote, str], server: str) -> None:
    remote, url = fake
    remote.chunks, remote.continuation, remote.delay_s = [*LONG_THOUGHT, *ANSWER], ANSWER, 0.002
    controls = Controls()
    events: list[Event] = []
    for event in RemoteChatModel(RemoteEngine("lab", url), "fake-r1", server=server).stream_chat(
            QUESTION, config(), controls):
        events.append(event)
        if isinstance(event, TextDelta) and event.channel == "reasoning" and event.tokens == 3:
            controls.answer_now()
    done = events[-1]
    assert isinstance(done, Finished) and done.answer == "The answer is 4." and "step 2" in done.reasoning
    assert "step 100" not in done.reasoning
    if server == VLLM:  # cut and asked for the answer
        assert len(remote.requests) == 2 and done.stats.reasoning_closed_by == "answer_now"
        assert remote.sent[0] < len(LONG_THOUGHT) // 2 and not [e for e in events if isinstance(e, Notice)]
    else:  # the rest of the thought is hidden, with a Notice
        assert len(remote.requests) == 1 and len(notices(events, "control_unsupported")) == 1
