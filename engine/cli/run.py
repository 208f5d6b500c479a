"""``ponder run`` and ``bench``: one question to an installed model, and its speed."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from typing import Any

from engine.cli.common import PROVIDERS, Subparsers

DIM, RESET = "\033[2m", "\033[0m"


def cmd_run(args: argparse.Namespace) -> int:
    from engine.models.store import find_model
    from engine.runtime.generate import ChatModel, Finished, GenerationConfig, Notice, TextDelta
    from engine.runtime.template import Message

    draft = find_model(args.draft).path if args.draft else None
    model = ChatModel(find_model(args.model).path, provider=args.provider, threads=args.threads,
                      context=args.context, draft=draft, draft_k=args.draft_k)
    sampling = model.default_sampling(seed=args.seed)
    if args.temperature is not None:
        sampling = replace(sampling, temperature=args.temperature)
    config = GenerationConfig(sampling=sampling, max_new_tokens=args.max_tokens, stop=tuple(args.stop or ()),
                              thinking_budget=args.thinking_budget, enable_thinking=not args.no_think)
    tty = sys.stdout.isatty() and not args.json
    channel = ""
    for event in model.stream_chat([Message("user", args.prompt)], config):
        if args.json:
            if isinstance(event, TextDelta):
                line: dict[str, Any] = {"type": event.channel, "text": event.text}
            elif isinstance(event, Notice):
                line = {"type": "notice", "kind": event.kind, "message": event.message, "value": event.value}
            else:
                line = {"type": "done", "finish_reason": event.finish_reason,
                        "reasoning_unfinished": event.reasoning_unfinished, **asdict(event.stats)}
            print(json.dumps(line, ensure_ascii=False), flush=True)
            continue
        if isinstance(event, TextDelta):
            if event.channel != channel:
                if channel:
                    sys.stdout.write(RESET + "\n\n" if tty else "\n\n")
                elif event.channel == "reasoning":
                    sys.stdout.write(DIM if tty else "")
                channel = event.channel
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Notice):
            print(f"\n[{event.message}]", file=sys.stderr)
        elif isinstance(event, Finished):
            s = event.stats
            sys.stdout.write((RESET if tty else "") + "\n")
            print(f"[{event.finish_reason}; {s.generated_tokens} tokens, {s.decode_tokens_per_s:.1f} tok/s, "
                  f"first token {s.time_to_first_token_s:.2f} s, thought {s.reasoning_s:.1f} s; {s.provider}"
                  + (f" ({s.provider_reason})" if s.provider_reason else "")
                  + (f"; drafts kept {s.draft_acceptance:.0%}" if s.draft_acceptance is not None else "") + "]",
                  file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from engine.models.store import find_model
    from engine.runtime.bench import run_bench

    try:
        contexts = [int(c) for c in args.context.split(",") if c.strip()]
    except ValueError:
        print(f"--context takes comma-separated token counts (e.g. 128,4096,32768), not {args.context!r}.",
              file=sys.stderr)
        return 2
    draft = find_model(args.draft).path if args.draft else None
    result = run_bench(find_model(args.model).path, contexts, args.decode_tokens, provider=args.provider,
                       threads=args.threads, draft=draft, draft_k=args.draft_k)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"{result.model} on {result.provider}: load {result.load_s:.2f} s, weights "
          f"{result.weights_bytes / 2**30:.2f} GiB, KV cache {result.cache_bytes / 2**30:.2f} GiB, "
          f"peak RSS {result.peak_rss_bytes / 2**30:.2f} GiB")
    spec = f" {'with draft':>11} {'speed-up':>9} {'accepted':>9}" if result.draft else ""
    print(f"{'context':>8} {'prefill tok/s':>14} {'first token s':>14} {'decode tok/s':>13} {'vs 128':>7}{spec}")
    for r in result.results:
        line = (f"{r.context:>8} {r.prefill_tokens_per_s:>14.1f} {r.time_to_first_token_s:>14.3f} "
                f"{r.decode_tokens_per_s:>13.1f} {r.decode_ratio_to_128:>6.0%}")
        if r.speculative_tokens_per_s is not None and r.acceptance is not None:
            line += (f" {r.speculative_tokens_per_s:>11.1f} {r.speculative_tokens_per_s / r.decode_tokens_per_s:>8.2f}x"
                     f" {r.acceptance:>9.0%}")
        print(line)
    if result.draft:
        print(f"draft {result.draft}, up to {result.draft_k} tokens per round; accepted = drafted tokens the model "
              "kept (random prompts: lower than on real text)")
    return 0


def add_run(sub: Subparsers) -> None:
    p = sub.add_parser("run", help="ask an installed model one question (reasoning dimmed, then the answer)")
    p.add_argument("model", help="installed name or catalog id")
    p.add_argument("prompt")
    p.add_argument("--max-tokens", type=int, default=2048)
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--stop", action="append", help="stop string (repeatable)")
    p.add_argument("--thinking-budget", type=int, metavar="N",
                   help="the most reasoning tokens; then the thought is closed and the model answers")
    p.add_argument("--no-think", action="store_true",
                   help="answer without thinking (only models whose template can turn thinking off)")
    p.add_argument("--provider", choices=PROVIDERS, default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--context", type=int, help="context length in tokens (default 4096)")
    p.add_argument("--draft", metavar="MODEL", help="speculative decoding: a smaller installed model of the same "
                   "tokenizer drafts, this one verifies (same output under greedy decoding)")
    p.add_argument("--draft-k", type=int, default=4, help="most drafted tokens per round (default 4)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_run)


def add_bench(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="prefill and decode speed at several context sizes")
    p.add_argument("model", help="installed name or catalog id")
    p.add_argument("--context", default="128,1024,4096",
                   help="comma-separated context sizes, up to 32768 (decode is also measured at 128, the ratio's base)")
    p.add_argument("--decode-tokens", type=int, default=64)
    p.add_argument("--draft", metavar="MODEL", help="also decode speculatively with this draft model (same "
                   "tokenizer) and print its speed and acceptance rate")
    p.add_argument("--draft-k", type=int, default=4, help="most drafted tokens per round (default 4)")
    p.add_argument("--provider", choices=PROVIDERS, default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
