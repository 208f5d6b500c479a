"""Streaming chat generation: ``stream_chat`` yields small frozen events; ``chat`` collects them.

Events are :class:`TextDelta` (text of the reasoning or answer channel), :class:`Notice` (the context was trimmed,
the reasoning loops, the thinking budget is spent) and one final :class:`Finished` with the whole text and the
timings. Special tokens (end of sentence, role markers) and stray ``<think>``/``</think>`` tags never reach the text.

Reasoning controls, per reply (:class:`GenerationConfig`): a thinking budget (when the thought has used that many
tokens the loop closes it, as :meth:`Controls.answer_now` does, and the model answers), "don't think" where the
template has the switch (:meth:`ChatModel.supports_disable_thinking`), and whether earlier turns' thoughts stay in
the prompt (``history_thoughts``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tokenizers import Tokenizer

from engine.runtime.detok import StreamDetokenizer
from engine.runtime.events import (
    THINKING_PRESETS,
    Controls,
    Event,
    Finished,
    GenerationConfig,
    Notice,
    Stats,
    TextDelta,
)
from engine.runtime.reasoning import ANSWER, REASONING, LoopGuard, ReasoningSplitter
from engine.runtime.sampling import Sampler, SamplingParams
from engine.runtime.session import KVSession
from engine.runtime.speculative import SpeculativeStepper, check_compatible
from engine.runtime.template import (
    HISTORY_THOUGHTS,
    KEEP,
    THINK_CLOSE,
    THINK_OPEN,
    ChatTemplate,
    Message,
)
from engine.system.errors import PonderError


class ChatModel:
    """A converted model ready to chat: one ORT session with its KV cache, tokenizer and chat template.

    Keep one per model and call it from one thread: the cache is reused across turns.
    """

    def __init__(self, model_dir: Path, *, provider: str = "auto", threads: int | None = None,
                 context: int | None = None, draft: Path | None = None, draft_k: int = 4) -> None:
        """``draft``: a smaller model of the same tokenizer that proposes ``draft_k`` tokens per step for this one
        to verify (:mod:`engine.runtime.speculative`; exact under greedy decoding, the same distribution under
        sampling)."""
        started = time.perf_counter()
        if draft is not None:
            check_compatible(model_dir, draft)
        self.kv = KVSession(model_dir, provider=provider, threads=threads, context=context,
                            all_logits=draft is not None)
        self.draft_kv = (KVSession(draft, provider=provider, threads=threads, context=self.kv.context)
                         if draft is not None else None)
        self.draft_k = draft_k
        self.manifest = self.kv.manifest
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.template = ChatTemplate.from_model_dir(model_dir)
        self.eos = set(self.manifest.generation.get("eos_token_ids") or [])
        eos = self.tokenizer.token_to_id(self.template.eos_token) if self.template.eos_token else None
        if eos is not None:  # the template's end of turn ends the reply even when the manifest omits it
            self.eos.add(eos)
        self.hidden = _hidden_tokens(self.tokenizer)
        self.reasoning_model = self.template.opens_think()
        self.load_s = time.perf_counter() - started

    def supports_disable_thinking(self) -> bool:
        """True when "don't think" works for this model (its template has the switch); hide it otherwise."""
        return self.template.supports_disable_thinking()

    def keeps_thoughts(self) -> bool:
        """True when the "keep" policy for earlier thoughts can work (the template does not strip them itself)."""
        return self.template.keeps_thoughts()

    def default_history_thoughts(self) -> str:
        """The model's policy for earlier thoughts: its catalog entry's ``history_thoughts`` when it has one (from
        the model card), else what its template implies ("drop" for R1 distills, whose template strips them)."""
        card = self.manifest.generation.get("history_thoughts")
        return card if card in HISTORY_THOUGHTS else self.template.default_history_thoughts()

    def prompt_options(self, config: GenerationConfig) -> dict[str, bool]:
        """How ``config`` renders the prompt (the template's ``keep_thoughts`` and ``enable_thinking``); a clear
        error when it asks for "don't think" and the model must think."""
        if not config.enable_thinking and not self.supports_disable_thinking():
            raise PonderError("This model always thinks: its chat template has no switch to turn thinking off.",
                              "Use a thinking budget (e.g. 0) to make it answer at once instead.")
        keep = (config.history_thoughts or self.default_history_thoughts()) == KEEP and self.keeps_thoughts()
        return {"keep_thoughts": keep, "enable_thinking": config.enable_thinking}

    def default_sampling(self, seed: int | None = None) -> SamplingParams:
        """The model's recommended sampling (from the catalog or its generation config)."""
        s = self.manifest.generation.get("sampling") or {}
        return SamplingParams(temperature=float(s.get("temperature", 0.6)), top_p=float(s.get("top_p", 0.95)),
                              top_k=int(s.get("top_k", 0)), repetition_penalty=float(s.get("repetition_penalty", 1.0)),
                              seed=seed)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` as the template rendered it (special tokens included literally)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def fit_prompt(self, messages: Sequence[Message], reserve: int, *, keep_thoughts: bool = False,
                   enable_thinking: bool = True) -> tuple[list[int], int]:
        """Prompt ids for ``messages``, dropping the oldest turns (never the system prompt or the last message)
        until the prompt plus ``reserve`` new tokens fits the context. Returns (ids, turns dropped)."""
        system = [m for m in messages[:1] if m.role == "system"]
        turns = list(messages[len(system):])
        dropped = 0
        while True:
            ids = self.encode(self.template.render(system + turns, keep_thoughts=keep_thoughts,
                                                   enable_thinking=enable_thinking))
            if len(ids) + reserve <= self.kv.context or len(turns) <= 1:
                break
            cut = oldest_turn(turns)
            del turns[:cut]
            dropped += cut
        if len(ids) + 1 > self.kv.context:
            raise PonderError(f"The question alone needs {len(ids)} tokens; the context holds {self.kv.context}.",
                              "Shorten it or raise the context length.")
        return ids, dropped

    def stream_chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
                    controls: Controls | None = None) -> Iterator[Event]:
        """Generate a reply to ``messages`` token by token (see the module doc for the events)."""
        config = config or GenerationConfig(sampling=self.default_sampling())
        controls = controls or Controls()
        options = self.prompt_options(config)  # refused here, before the stream starts
        return _Run(self, messages, config, controls, options).events()

    def chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
             controls: Controls | None = None) -> Finished:
        """Generate a whole reply (the collected stream)."""
        return collect(self.stream_chat(messages, config, controls))


def reply_reserve(config: GenerationConfig, context: int) -> int:
    """The tokens a prompt leaves free for the reply: the reply's length, at most a quarter of the context."""
    return min(config.max_new_tokens, context // 4)


def oldest_turn(turns: Sequence[Message]) -> int:
    """How many of ``turns`` (the system prompt excluded) go first when the prompt must shrink: the oldest
    question with its answer, or one message."""
    return 2 if len(turns) > 2 and turns[0].role == "user" and turns[1].role == "assistant" else 1


def _hidden_tokens(tokenizer: Tokenizer) -> frozenset[int]:
    """Ids of the special tokens that are never text (end of sentence, role markers, padding); the thought's tags
    are not among them: the reasoning splitter needs them."""
    return frozenset(i for i, t in tokenizer.get_added_tokens_decoder().items()
                     if t.special and t.content not in (THINK_OPEN, THINK_CLOSE))


def collect(events: Iterable[Event]) -> Finished:
    """The :class:`Finished` event that ends a reply's stream (running the stream to its end)."""
    for event in events:
        if isinstance(event, Finished):
            return event
    raise AssertionError("a reply's stream always ends with Finished")


class _StopStrings:
    """Holds back just enough text to recognise a stop string that spans deltas."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._keep = max((len(s) for s in self._stops), default=1) - 1
        self._buf = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """(text safe to release, whether a stop string was reached)."""
        self._buf += text
        hits = [i for i in (self._buf.find(s) for s in self._stops) if i >= 0]
        if hits:
            out, self._buf = self._buf[: min(hits)], ""
            return out, True
        cut = max(0, len(self._buf) - self._keep)
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return out, False

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return out


class _Run:
    """One reply in progress."""

    def __init__(self, model: ChatModel, messages: Sequence[Message], config: GenerationConfig,
                 controls: Controls, options: dict[str, bool]) -> None:
        self.m, self.config, self.controls, self.options = model, config, controls, options
        self.messages = messages
        self.text = {REASONING: "", ANSWER: ""}
        self.tokens = {REASONING: 0, ANSWER: 0}
        self.generated = 0
        self.ids: list[int] = []
        self.splitter = ReasoningSplitter(starts_in_reasoning=model.template.opens_think(config.enable_thinking))
        self.detok = StreamDetokenizer(model.tokenizer)
        self.stops = _StopStrings(config.stop)
        self.first_token_t = 0.0
        self.close_t = 0.0
        self.closed_by = ""
        self.spec: SpeculativeStepper | None = None

    def _deltas(self, text: str) -> Iterator[TextDelta]:
        was_reasoning = self.splitter.in_reasoning
        for piece in self.splitter.feed(text):
            self.text[piece.channel] += piece.text
            yield TextDelta(piece.text, piece.channel, self.generated, self._rate())
        if was_reasoning and not self.splitter.in_reasoning and not self.close_t:
            self.close_t = time.perf_counter()

    def _close_reason(self) -> str:
        """Why the loop must close the thought before the next token: "answer_now", "budget", or ""."""
        if not self.splitter.unfinished or self.closed_by:
            self.controls.take_answer_now()  # nothing (more) to close: the request is spent
            return ""
        if self.controls.take_answer_now():
            return "answer_now"
        budget = self.config.thinking_budget
        return "budget" if budget is not None and self.tokens[REASONING] >= budget else ""

    def _rate(self) -> float:
        elapsed = time.perf_counter() - self.first_token_t
        return (self.generated - 1) / elapsed if self.generated > 1 and elapsed > 0 else 0.0

    def events(self) -> Iterator[Event]:
        m, kv, config = self.m, self.m.kv, self.config
        start = time.perf_counter()
        reserve = reply_reserve(config, kv.context)
        prompt, dropped = m.fit_prompt(self.messages, reserve, **self.options)
        if dropped:
            yield Notice("context_trimmed", f"Dropped the {dropped} oldest message(s) to fit the context.", dropped)
        reused = min(kv.common_prefix(prompt), len(prompt) - 1)
        kv.rewind(reused)
        logits = kv.extend(prompt[reused:])
        spec = (SpeculativeStepper(kv, m.draft_kv, config.sampling, k=m.draft_k)
                if m.draft_kv is not None else None)
        if spec is not None:
            spec.start(logits)
        self.spec = spec
        prefill_s = time.perf_counter() - start
        sampler = Sampler(config.sampling)
        history = list(prompt)
        guard = LoopGuard()
        finish = "length"
        while self.generated < config.max_new_tokens:
            if self.controls.cancelled:
                finish = "cancelled"
                break
            if reason := self._close_reason():  # Answer now, or the thinking budget is spent
                yield from self._deltas(self.stops.flush())  # the text held for stop strings comes first
                if not self.splitter.unfinished:
                    continue  # the model had just closed it itself
                if reason == "budget":
                    yield Notice("thinking_budget", f"The thinking budget of {config.thinking_budget} tokens is "
                                 "spent; the model answers now.", self.tokens[REASONING])
                forced = m.encode(f"\n{THINK_CLOSE}\n\n")
                if len(history) + len(forced) >= kv.context:
                    break  # no room left to answer in: "length"
                for token in forced:
                    yield from self._deltas(self.detok.push(token))
                if spec is not None:
                    spec.force(history, forced)
                else:
                    logits = kv.extend(forced)
                history.extend(forced)
                self.closed_by = reason
                continue
            # the decode step: one token from the logits (or from a speculative round's verified tokens)
            token = spec.next_token(history) if spec is not None else sampler(logits, history)
            if token in m.eos:
                finish = "stop"
                break
            if len(history) >= kv.context:
                finish = "length"
                break
            self.generated += 1
            self.ids.append(token)
            if self.generated == 1:
                self.first_token_t = time.perf_counter()
            channel = REASONING if self.splitter.in_reasoning else ANSWER
            self.tokens[channel] += 1
            history.append(token)
            decoded = "" if token in m.hidden else self.detok.push(token)  # special tokens are never text
            released, stopped = self.stops.feed(decoded)
            yield from self._deltas(released)
            if stopped:
                finish = "stop_string"
                break
            if channel == REASONING and (period := guard.push(token)):
                yield Notice("loop_detected", f"The reasoning repeats itself every {period} tokens.", period)
            if spec is None:
                logits = kv.extend([token])
        if spec is not None:
            spec.settle(history)  # the caches hold exactly what was emitted, so the next turn's prefix reuse is exact
        if finish != "stop_string":
            tail, _ = self.stops.feed(self.detok.flush())
            yield from self._deltas(tail + self.stops.flush())
        for piece in self.splitter.finish():
            self.text[piece.channel] += piece.text
            yield TextDelta(piece.text, piece.channel, self.generated, self._rate())
        yield self._finished(finish, start, prefill_s, len(prompt), reused, dropped)

    def _finished(self, finish: str, start: float, prefill_s: float, prompt: int, reused: int,
                  dropped: int) -> Finished:
        end = time.perf_counter()
        first = self.first_token_t or end
        close = self.close_t or (end if self.splitter.in_reasoning else first)
        decode_s = end - first
        stats = Stats(
            prompt_tokens=prompt, reused_tokens=reused, generated_tokens=self.generated,
            reasoning_tokens=self.tokens[REASONING], answer_tokens=self.tokens[ANSWER],
            time_to_first_token_s=first - start, reasoning_s=max(0.0, close - first) if self.tokens[REASONING] else 0.0,
            answer_s=max(0.0, end - close) if self.tokens[ANSWER] else 0.0,
            prefill_tokens_per_s=(prompt - reused) / prefill_s if prefill_s > 0 else 0.0,
            decode_tokens_per_s=(self.generated - 1) / decode_s if self.generated > 1 and decode_s > 0 else 0.0,
            total_s=end - start, provider=self.m.kv.choice.provider, provider_reason=self.m.kv.choice.reason,
            dropped_turns=dropped, context_used=len(self.m.kv.tokens), context_size=self.m.kv.context,
            reasoning_closed_by=self.closed_by,
            draft_acceptance=self.spec.stats.acceptance if self.spec is not None else None,
        )
        return Finished(finish, self.text[REASONING], self.text[ANSWER], self.splitter.unfinished, stats,
                        tuple(self.ids))


__all__ = ["THINKING_PRESETS", "ChatModel", "Controls", "Event", "Finished", "GenerationConfig", "Notice", "Stats",
           "TextDelta", "collect", "oldest_turn", "reply_reserve"]
