"""The headless ``ponder`` subcommands. (``desktop.launch`` is the console entry point: with no arguments it
opens the window, otherwise it hands the arguments here.)"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from engine._version import __version__
from engine.errors import PonderError
from engine.progress import Progress


class ProgressPrinter:
    """Renders progress reports as one updating line on a terminal, or a line every few seconds otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr  # looked up now, not at import: redirections made since count
        self._tty = self._stream.isatty()
        self._last = 0.0
        self._stage = ""

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.total > 0 and p.done >= p.total
        if p.stage == self._stage and not final and now - self._last < (0.1 if self._tty else 5.0):
            return
        self._last, self._stage = now, p.stage
        if p.unit == "bytes":
            pct = f"{100 * p.fraction:5.1f}%" if p.fraction is not None else "     "
            eta = f" ETA {p.eta_s:.0f}s" if p.eta_s is not None else ""
            text = (f"{p.stage}: {pct} {p.done / 2**20:,.0f}/{p.total / 2**20:,.0f} MiB "
                    f"{p.rate / 2**20:.1f} MiB/s{eta} {p.message}")
        else:
            text = f"{p.stage}: {p.message}"
        if self._tty:
            width = 20
            filled = int(width * (p.fraction or 0))
            self._stream.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {text[:100]}")
            if final:
                self._stream.write("\n")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def cmd_models(args: argparse.Namespace) -> int:
    from engine.catalog import load_catalog
    from engine.store import list_installed

    catalog = load_catalog()
    installed = list_installed()
    if args.json:
        data: dict[str, Any] = {
            "catalog": [{
                "id": e.id, "name": e.name, "repo_id": e.repo_id, "revision": e.revision, "license": e.license,
                "params": e.params, "architecture": e.architecture.family, "reasoning": e.reasoning,
                "download_bytes": e.download_bytes, "sampling": e.sampling.__dict__,
                "needs": {p: n.__dict__ for p, n in e.needs.items()},
                "prebuilt": [b.__dict__ | {"providers": list(b.providers)} for b in e.prebuilt],
            } for e in catalog],
            "installed": [{
                "name": m.name, "path": str(m.path), "precision": m.manifest.precision,
                "graph_form": m.manifest.graph_form, "providers": m.manifest.providers,
                "size_bytes": m.manifest.size_bytes, "source": m.manifest.source,
            } for m in installed],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print("Catalog:")
    for e in catalog:
        int4 = e.needs.get("int4")
        need = f"int4 {_gb(int4.disk_bytes)} disk, {_gb(int4.ram_bytes)} RAM" if int4 else ""
        print(f"  {e.id:32} {e.params / 1e9:5.1f}B  {e.license[:12]:12}  download {_gb(e.download_bytes):>8}  {need}")
    print("Installed:" if installed else "Installed: none (try 'ponder pull deepseek-r1-distill-qwen-1.5b')")
    for m in installed:
        print(f"  {m.name:32} {m.manifest.precision:5} {','.join(m.manifest.providers):8} "
              f"{_gb(m.manifest.size_bytes):>8}  {m.path}")
    return 0


def _auto_provider(requested: str) -> str:
    if requested != "auto":
        return requested
    from engine.hardware import probe
    from engine.recommend import auto_provider

    return auto_provider(probe())


def cmd_pull(args: argparse.Namespace) -> int:
    from engine.pulljobs import PullSpec, run_job

    provider = _auto_provider(args.provider)
    spec = PullSpec.for_pull(args.model, args.precision, provider, name=args.name or "", prebuilt=not args.convert,
                             keep_download=args.keep_download)
    model = run_job(spec, progress=ProgressPrinter())  # the same job, record and lock as the Models page's
    print(f"Ready: {model.name} ({model.manifest.precision}, {_gb(model.manifest.size_bytes)}) at {model.path}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from engine.convert.pipeline import convert_checkpoint

    provider = _auto_provider(args.provider)
    model = convert_checkpoint(args.path, args.name, precision=args.precision, provider=provider,
                               replace=args.replace, progress=ProgressPrinter())
    print(f"Ready: {model.name} ({model.manifest.precision}, {_gb(model.manifest.size_bytes)}) at {model.path}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from engine.hardware import probe

    report = probe()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    cpu = report.cpu
    print(f"OS:   {report.os}")
    print(f"CPU:  {cpu.name} ({cpu.physical_cores} cores, {cpu.logical_cores} threads; {' '.join(cpu.features)})")
    print(f"RAM:  {_gb(report.ram_total_bytes)} total, {_gb(report.ram_available_bytes)} available")
    for gpu in report.gpus or []:
        print(f"GPU:  {gpu.name} ({_gb(gpu.memory_bytes)}{', driver ' + gpu.driver if gpu.driver else ''})")
    if not report.gpus:
        print("GPU:  none found")
    print(f"ONNX Runtime {report.onnxruntime} providers:")
    for p in report.providers:
        print(f"  {p.key:7} {'works' if p.works else 'no':6} {p.reason}")
    return 0


DIM, RESET = "\033[2m", "\033[0m"


def cmd_run(args: argparse.Namespace) -> int:
    from engine.chat.template import Message
    from engine.runtime.generate import ChatModel, Finished, GenerationConfig, Notice, TextDelta
    from engine.store import find_model

    model = ChatModel(find_model(args.model).path, provider=args.provider, threads=args.threads,
                      context=args.context)
    sampling = model.default_sampling(seed=args.seed)
    if args.temperature is not None:
        sampling = replace(sampling, temperature=args.temperature)
    config = GenerationConfig(sampling=sampling, max_new_tokens=args.max_tokens, stop=tuple(args.stop or ()))
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
                  + (f" ({s.provider_reason})" if s.provider_reason else "") + "]", file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from engine.runtime.bench import run_bench
    from engine.store import find_model

    contexts = [int(c) for c in args.context.split(",") if c.strip()]
    result = run_bench(find_model(args.model).path, contexts, args.decode_tokens, provider=args.provider,
                       threads=args.threads)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"{result.model} on {result.provider}: load {result.load_s:.2f} s, weights "
          f"{result.weights_bytes / 2**30:.2f} GiB, peak RSS {result.peak_rss_bytes / 2**30:.2f} GiB")
    print(f"{'context':>8} {'prefill tok/s':>14} {'first token s':>14} {'decode tok/s':>13}")
    for r in result.results:
        print(f"{r.context:>8} {r.prefill_tokens_per_s:>14.1f} {r.time_to_first_token_s:>14.3f} "
              f"{r.decode_tokens_per_s:>13.1f}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from engine.documents.embed import Embedder
    from engine.documents.index import DocumentIndex
    from engine.documents.pipeline import embedder_folder, index_paths
    from engine.documents.retrieve import cited_prompt, retrieve

    if args.docs_command == "embedder":
        return _docs_embedder(args)
    index = DocumentIndex()
    if args.docs_command == "list":
        files = index.files(args.collection)
        if args.json:
            print(json.dumps([f.__dict__ for f in files], indent=2, ensure_ascii=False))
        for f in [] if args.json else files:
            print(f"{f.status:8} {f.chunks:5} chunks  {f.path}" + (f"  — {f.error}" if f.error else ""))
        return 0
    embedder = Embedder(embedder_folder())
    if args.docs_command == "add":
        failed = 0
        for p in index_paths(index, args.paths, embedder, collection=args.collection):
            if p.stage in ("indexed", "skipped", "failed"):
                failed += p.stage == "failed"
                note = f" ({p.done} chunks)" if p.stage == "indexed" else (f": {p.message}" if p.message else "")
                print(f"[{p.file_index}/{p.files}] {p.stage} {p.path}{note}", flush=True)
        return 1 if failed else 0
    sources = retrieve(index, embedder, args.collection, args.query, top_k=args.top)
    if args.docs_command == "search":
        rows = [{"file": s.hit.path, "page": s.hit.page, "heading": list(s.hit.heading), "start": s.hit.start,
                 "end": s.hit.end, "score": round(s.hit.score, 6), "similarity": round(s.hit.similarity, 6),
                 "text": s.hit.text} for s in sources]
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        for s in [] if args.json else sources:
            print(f"[{s.number}] {s.label}  score {s.hit.score:.4f}\n    {s.hit.text[:200]!r}")
        return 0
    from engine.chat.template import Message
    from engine.runtime.generate import ChatModel, GenerationConfig
    from engine.store import find_model

    model = ChatModel(find_model(args.model).path, provider=args.provider)
    config = GenerationConfig(sampling=model.default_sampling(seed=args.seed), max_new_tokens=args.max_tokens)
    result = model.chat([Message("user", cited_prompt(args.query, sources))], config)
    if args.json:
        print(json.dumps({"answer": result.answer, "reasoning": result.reasoning,
                          "sources": [{"number": s.number, "label": s.label, "file": s.hit.path, "page": s.hit.page,
                                       "start": s.hit.start, "end": s.hit.end} for s in sources]},
                         ensure_ascii=False))
        return 0
    print(result.answer)
    for s in sources:
        print(f"[{s.number}] {s.label}")
    return 0


def _docs_embedder(args: argparse.Namespace) -> int:
    from engine.documents.embed import default_embedder_dir, export_embedder
    from engine.documents.embedders import (
        embedder_folder,
        get_embedder,
        installed_embedders,
        load_embedders,
        use_embedder,
    )

    if args.list:
        installed = {p.name for p in installed_embedders()}
        in_use = embedder_folder().name if installed else ""
        for e in load_embedders():
            mark = ("in use" if e.id == in_use else "installed") if e.id in installed else \
                f"{e.download_bytes / 1e6:.0f} MB"
            print(f"{e.id:24} {e.license:11} {e.languages:48} {mark}{'  (default)' if e.default else ''}")
        return 0
    if args.use:
        folder = use_embedder(args.use)
        print(f"Documents now use {folder.name}; collections indexed with another model are indexed again.")
        return 0
    if args.get is not None:
        folder = get_embedder(args.get or None, progress=ProgressPrinter())
    elif args.path is not None:
        name = args.name or args.path.resolve().name.lower()
        from engine.paths import check_model_name

        folder = export_embedder(args.path, default_embedder_dir(check_model_name(name)))
    else:
        raise PonderError("Say which embedding model to install.",
                          "Use --get (the default), --get ID (see --list), or a local checkpoint folder.")
    print(f"Embedding model ready at {folder}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from engine.store import delete

    delete(args.name)
    print(f"Deleted {args.name}.")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from engine.secrets import TokenStore, keyring_status

    store = TokenStore()
    if args.action == "clear":
        store.clear()
        print("Hugging Face token removed.")
        return 0
    if args.action == "status":
        status = keyring_status()
        print(f"Keyring: {status.backend}" + (f" — {status.reason}" if status.reason else ""))
        print("Token: " + ("set" if store.get() else "not set"))
        return 0
    token = getpass.getpass("Hugging Face token: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not token:
        raise PonderError("No token given.", "Paste a token from your Hugging Face settings page.")
    status = store.set(token)
    print("Token saved in the OS keyring." if status.available else status.reason)
    return 0


def _read_secret(prompt: str) -> str:
    """A secret from the terminal (not echoed) or the first line of standard input; never from argv."""
    return getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().strip()


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.secrets import api_key, reset_api_key

    if args.show_key or args.new_key:
        print(reset_api_key() if args.new_key else api_key())
        return 0
    from engine import privacy
    from engine.api.auth import is_loopback
    from engine.api.server import ApiServer
    from engine.settings import load_settings

    settings = load_settings()
    overrides = {"provider": args.provider, "threads": args.threads, "context_length": args.context}
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    reason = privacy.offline_reason()
    if reason and not is_loopback(args.host):
        raise PonderError(f"Cannot serve on {args.host}: {reason[0].lower()}{reason[1:]}.",
                          "Serve on 127.0.0.1, or switch offline mode off ('ponder network --offline off').")
    server = ApiServer.from_settings(settings, args.host, args.port, allow_remote=args.allow_remote,
                                     allowed_hosts=args.allowed_host or ())
    if not is_loopback(args.host):
        print(f"Warning: serving on {args.host}: other computers on the network can reach the API (the key is still "
              "required, and http:// is not encrypted).", file=sys.stderr)
    server.start()
    from engine.secrets import keyring_status

    if keyring_status().available:
        where = "key: 'ponder serve --show-key'"
    else:  # the key lives only in this process: say it, or no client could ever use the server
        where = f"key for this session only (no OS keyring to keep it): {server.key}"
    print(f"OpenAI-compatible API at {server.url} ({where}). Press Ctrl+C to stop.", flush=True)
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        server.stop()
    return 0


def cmd_remote(args: argparse.Namespace) -> int:
    from engine.remote import RemoteEngines

    engines = RemoteEngines()
    if args.remote_command == "add":
        key = _read_secret(f"Key for {args.name}: ") if args.key else None
        if args.key and not key:
            raise PonderError("No key given.", "Paste the engine's API key, or leave out --key if it needs none.")
        engine = engines.add(args.name, args.url, key, replace=args.replace)
        if key and not engine.encrypted:
            print(f"Warning: {engine.url} is not https: the key and your messages cross the network unencrypted.",
                  file=sys.stderr)
        print(f"Added {engine.name}: {engine.url}" + (" (key in the keyring)" if key else ""))
        return 0
    if args.remote_command == "list":
        rows = [{"name": e.name, "url": e.url, "key": engines.key(e.name) is not None} for e in engines.engines()]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("No remote engines (add one with 'ponder remote add NAME URL').")
        for r in [] if args.json else rows:
            print(f"  {r['name']:24} {r['url']}" + ("  (key set)" if r["key"] else ""))
        return 0
    if args.remote_command == "remove":
        engines.remove(args.name)
        print(f"Removed {args.name}.")
        return 0
    models = engines.models(args.name)
    print(json.dumps(models) if args.json else "\n".join(models) or "(no models)")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from datetime import datetime

    from engine import network_log, privacy
    from engine.progress import format_bytes
    from engine.settings import load_settings, save_settings

    if args.offline is not None:
        save_settings(replace(load_settings(), offline=args.offline == "on"))
        privacy.set_offline(args.offline == "on")
    if args.clear:
        network_log.clear_activity()
    reason = privacy.offline_reason()
    records = network_log.read_activity(args.limit)
    if args.json:
        print(json.dumps({"offline": reason is not None, "offline_reason": reason,
                          "activity": [asdict(r) for r in records]}, indent=2, ensure_ascii=False))
        return 0
    print(f"{reason}: Ponder opens no connection beyond this computer." if reason else
          "Online: Ponder connects only for downloads you start and remote engines you added.")
    if not records:
        print("No network activity recorded.")
    for r in records:
        when = datetime.fromtimestamp(r.time).strftime("%Y-%m-%d %H:%M:%S")
        size = f"{format_bytes(r.received)} in, {format_bytes(r.sent)} out"
        print(f"  {when}  {r.kind:14} {r.host:28} {size:24} {r.result}\n      {r.detail} ({r.process})"
              + (f"; reached {', '.join(r.addresses)}" if r.addresses else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``ponder`` argument parser."""
    parser = argparse.ArgumentParser(prog="ponder", description="Private AI on your own computer.")
    parser.add_argument("--version", action="version", version=f"Ponder {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("models", help="the catalog and installed models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("pull", help="download a catalog model and convert it to ONNX")
    p.add_argument("model", help="catalog id, Hub repo id or name (see 'ponder models')")
    p.add_argument("--precision", choices=("int4", "fp16", "fp32"), default="int4")
    p.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml", "coreml"), default="auto")
    p.add_argument("--name", help="installed name (default: catalog id and precision)")
    p.add_argument("--convert", action="store_true", help="convert from the checkpoint even if a prebuilt exists")
    p.add_argument("--keep-download", action="store_true", help="keep the downloaded checkpoint afterwards")
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("convert", help="convert a local Hugging Face checkpoint folder")
    p.add_argument("path", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--precision", choices=("int4", "fp16", "fp32"), default="int4")
    p.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml", "coreml"), default="auto")
    p.add_argument("--replace", action="store_true", help="replace an installed model of the same name")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("devices", help="CPU, memory, GPUs and the ONNX Runtime providers that work")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("run", help="ask an installed model one question (reasoning dimmed, then the answer)")
    p.add_argument("model", help="installed name or catalog id")
    p.add_argument("prompt")
    p.add_argument("--max-tokens", type=int, default=2048)
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--stop", action="append", help="stop string (repeatable)")
    p.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml", "coreml"), default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--context", type=int, help="context length in tokens (default 4096)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("bench", help="prefill and decode speed at several context sizes")
    p.add_argument("model", help="installed name or catalog id")
    p.add_argument("--context", default="128,1024,4096", help="comma-separated context sizes")
    p.add_argument("--decode-tokens", type=int, default=64)
    p.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml", "coreml"), default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("docs", help="documents: add files, search them, ask questions with citations")
    docs = p.add_subparsers(dest="docs_command", required=True)
    d = docs.add_parser("add", help="index files or folders (PDF, DOCX, TXT, Markdown, HTML)")
    d.add_argument("paths", nargs="+", type=Path)
    d.add_argument("--collection", default="default")
    d = docs.add_parser("list", help="indexed files and their status")
    d.add_argument("--collection", default="default")
    d.add_argument("--json", action="store_true")
    d = docs.add_parser("search", help="retrieval only: file, page, span, score, text")
    d.add_argument("query")
    d.add_argument("--collection", default="default")
    d.add_argument("--top", type=int, default=5)
    d.add_argument("--json", action="store_true")
    d = docs.add_parser("ask", help="answer from the documents, citing them as [1], [2]...")
    d.add_argument("query")
    d.add_argument("--collection", default="default")
    d.add_argument("--model", required=True, help="installed model name or catalog id")
    d.add_argument("--top", type=int, default=5)
    d.add_argument("--max-tokens", type=int, default=2048)
    d.add_argument("--seed", type=int)
    d.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml", "coreml"), default="auto")
    d.add_argument("--json", action="store_true")
    d = docs.add_parser("embedder", help="install an embedding model: --get downloads one, or a local folder")
    d.add_argument("path", type=Path, nargs="?", help="a local sentence-embedding checkpoint folder")
    d.add_argument("--get", nargs="?", const="", metavar="ID", help="download a catalog embedder (default one)")
    d.add_argument("--list", action="store_true", help="the embedders Ponder offers")
    d.add_argument("--use", metavar="ID", help="use this installed embedder for documents")
    d.add_argument("--name", help="folder name for a local checkpoint's export")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("rm", help="delete an installed model")
    p.add_argument("name")
    p.set_defaults(func=cmd_rm)

    p = sub.add_parser("token", help="the Hugging Face token (kept in the OS keyring)")
    p.add_argument("action", choices=("set", "clear", "status"))
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("serve", help="an OpenAI-compatible API for the installed models (127.0.0.1, needs the key)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other than loopback: other computers can then reach the API")
    p.add_argument("--allowed-host", action="append", help="extra Host name accepted with --allow-remote")
    p.add_argument("--provider", choices=("auto", "cpu", "cuda", "dml", "coreml"))
    p.add_argument("--threads", type=int)
    p.add_argument("--context", type=int, help="context length in tokens (default: the Settings value)")
    p.add_argument("--show-key", action="store_true", help="print the API key and exit")
    p.add_argument("--new-key", action="store_true", help="replace the API key, print the new one and exit")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("network", help="offline mode and every connection Ponder made (newest first)")
    p.add_argument("--offline", choices=("on", "off"), help="switch offline mode (kept in the settings)")
    p.add_argument("--limit", type=int, default=50, help="how many records to show (default 50)")
    p.add_argument("--clear", action="store_true", help="forget the recorded activity")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_network)

    p = sub.add_parser("remote", help="remote OpenAI-compatible engines (vLLM, Ollama, exo, another Ponder)")
    remote = p.add_subparsers(dest="remote_command", required=True)
    r = remote.add_parser("add", help="save an engine by name and URL (its key goes to the OS keyring)")
    r.add_argument("name")
    r.add_argument("url", help="the API base, e.g. http://192.168.1.20:8000/v1")
    r.add_argument("--key", action="store_true", help="ask for the engine's API key (or read it from stdin)")
    r.add_argument("--replace", action="store_true", help="replace a saved engine of the same name")
    r = remote.add_parser("list", help="saved engines")
    r.add_argument("--json", action="store_true")
    r = remote.add_parser("remove", help="forget an engine and its key")
    r.add_argument("name")
    r = remote.add_parser("models", help="the models an engine serves")
    r.add_argument("name")
    r.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remote)
    return parser


def _apply_privacy(command: str) -> None:
    """Offline mode from the settings (the environment can still force it) and this process's name in the
    Network activity list."""
    from engine import network_log, privacy
    from engine.settings import load_settings

    privacy.set_offline(load_settings().offline)
    network_log.set_process_label(f"ponder {command}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ponder`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_convert-worker"]:  # the frozen app re-enters itself to run a conversion stage
        from engine.convert.worker import main as worker_main

        return worker_main(argv[1:])
    if argv[:1] == ["_extract-worker"]:  # ... and to parse a document in a sandboxed child
        from engine.documents.sandbox import main as extract_main

        return int(extract_main() or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        _apply_privacy(args.command)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("\nCancelled. Run the same command again to resume where it stopped.", file=sys.stderr)
        return 130
    except PonderError as err:
        print(f"ponder: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
