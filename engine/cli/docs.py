"""``ponder docs``: add files, list and search them, ask with citations, install the embedding model and the
reranker."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.common import PROVIDERS, ProgressPrinter, Subparsers
from engine.system.errors import PonderError


def cmd_docs(args: argparse.Namespace) -> int:
    from engine.documents.embed import Embedder
    from engine.documents.index import DocumentIndex
    from engine.documents.pipeline import IndexStage, embedder_folder, index_paths
    from engine.documents.retrieve import cited_prompt, retrieve

    if args.docs_command == "embedder":
        return _docs_embedder(args)
    if args.docs_command == "reranker":
        return _docs_reranker(args)
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
            if p.stage == IndexStage.OCR and p.done < p.total:
                print(f"[{p.file_index}/{p.files}] ocr {p.path} (scanned page {p.done + 1}/{p.total})", flush=True)
            elif p.stage in (IndexStage.SEARCHABLE, IndexStage.INDEXED, IndexStage.SKIPPED, IndexStage.FAILED):
                failed += p.stage == IndexStage.FAILED
                detail = f": {p.message}" if p.message else ""
                note = {IndexStage.INDEXED: f" ({p.done} chunks)",
                        IndexStage.SEARCHABLE: f" ({p.total} chunks by keywords; improving: vectors {p.done}/"
                                               f"{p.total}, the rest follow)"}.get(p.stage, detail)
                print(f"[{p.file_index}/{p.files}] {p.stage} {p.path}{note}", flush=True)
        return 1 if failed else 0
    from engine.documents.rerank import Reranker
    from engine.documents.rerankers import reranker_folder

    folder = None if args.no_rerank else reranker_folder()
    reranker = Reranker(folder) if folder is not None else None
    sources = retrieve(index, embedder, args.collection, args.query, top_k=args.top, reranker=reranker)
    if args.docs_command == "search":
        rows = [{"file": s.hit.path, "page": s.hit.page, "heading": list(s.hit.heading), "start": s.hit.start,
                 "end": s.hit.end, "score": round(s.hit.score, 6), "similarity": round(s.hit.similarity, 6),
                 "reranked": s.reranked, "rerank_score": s.to_dict()["rerank_score"], "text": s.hit.text}
                for s in sources]
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        for s in [] if args.json else sources:
            rerank = f"  reranked {s.rerank_score:.3f}" if s.rerank_score is not None else ""
            print(f"[{s.number}] {s.label}  score {s.hit.score:.4f}{rerank}\n    {s.hit.text[:200]!r}")
        return 0
    from engine.models.store import find_model
    from engine.runtime.generate import ChatModel, GenerationConfig
    from engine.runtime.template import Message

    model = ChatModel(find_model(args.model).path, provider=args.provider)
    config = GenerationConfig(sampling=model.default_sampling(seed=args.seed), max_new_tokens=args.max_tokens)
    from engine.documents.citations import check_citations, embedding_similarity

    result = model.chat([Message("user", cited_prompt(args.query, sources))], config)
    verdicts = check_citations(result.answer, {s.number: s.hit.text for s in sources}, embedding_similarity(embedder))
    if args.json:
        print(json.dumps({"answer": result.answer, "reasoning": result.reasoning,
                          "sources": [{"number": s.number, "label": s.label, "file": s.hit.path, "page": s.hit.page,
                                       "start": s.hit.start, "end": s.hit.end, "reranked": s.reranked}
                                      for s in sources],
                          "citations": [v.to_dict() for v in verdicts]},
                         ensure_ascii=False))
        return 0
    print(result.answer)
    doubted = {v.number for v in verdicts if not v.supported}
    for s in sources:
        print(f"[{s.number}] {s.label}{'  (reranked)' if s.reranked else ''}"
              + ("  ⚠ cited for something it does not say" if s.number in doubted else ""))
    unsupported = [v for v in verdicts if not v.supported]
    if unsupported:
        print("\nNot supported by the cited passage:")
    for v in unsupported:
        print(f"  [{v.number}] “{v.sentence}” — {v.reason}")
    return 0


def _docs_reranker(args: argparse.Namespace) -> int:
    from engine.documents.rerank import export_reranker
    from engine.documents.rerankers import (
        get_reranker,
        installed_rerankers,
        load_rerankers,
        reranker_folder,
        rerankers_dir,
        use_reranker,
    )
    from engine.system.paths import check_model_name

    if args.list:
        installed = {p.name for p in installed_rerankers()}
        active = reranker_folder()
        for e in load_rerankers():
            mark = ("in use" if active is not None and e.id == active.name else "installed") \
                if e.id in installed else f"{e.download_bytes / 1e6:.0f} MB"
            print(f"{e.id:24} {e.license:11} {e.languages:24} {mark}{'  (default)' if e.default else ''}")
        print(f"Reranking is {'on: ' + active.name if active is not None else 'off'}.")
        return 0
    if args.use is not None:
        folder = use_reranker(args.use)
        print(f"Retrieval now reranks with {folder.name}." if folder else "Reranking is off.")
        return 0
    if args.get is not None:
        folder = get_reranker(args.get or None, progress=ProgressPrinter())
    elif args.path is not None:
        name = check_model_name(args.name or args.path.resolve().name.lower())
        folder = export_reranker(args.path, rerankers_dir() / name)
    else:
        raise PonderError("Say which reranker to install.",
                          "Use --get (the default), --get ID (see --list), or a local cross-encoder checkpoint.")
    print(f"Reranker ready at {folder}; switch it on with 'ponder docs reranker --use {folder.name}'.")
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
        from engine.system.paths import check_model_name

        folder = export_embedder(args.path, default_embedder_dir(check_model_name(name)))
    else:
        raise PonderError("Say which embedding model to install.",
                          "Use --get (the default), --get ID (see --list), or a local checkpoint folder.")
    print(f"Embedding model ready at {folder}")
    return 0


def add_docs(sub: Subparsers) -> None:
    p = sub.add_parser("docs", help="documents: add files, search them, ask questions with citations")
    docs = p.add_subparsers(dest="docs_command", required=True)
    d = docs.add_parser("add", help="index files or folders (PDF, DOCX, TXT, Markdown, HTML and more); each is "
                                    "searchable by keywords first, then its vectors fill in")
    d.add_argument("paths", nargs="+", type=Path)
    d.add_argument("--collection", default="default")
    d = docs.add_parser("list", help="indexed files and their status")
    d.add_argument("--collection", default="default")
    d.add_argument("--json", action="store_true")
    d = docs.add_parser("search", help="retrieval only: file, page, span, score, text")
    d.add_argument("query")
    d.add_argument("--collection", default="default")
    d.add_argument("--top", type=int, default=5)
    d.add_argument("--no-rerank", action="store_true", help="skip the reranker for this search")
    d.add_argument("--json", action="store_true")
    d = docs.add_parser("ask", help="answer from the documents, citing them as [1], [2]...")
    d.add_argument("query")
    d.add_argument("--collection", default="default")
    d.add_argument("--model", required=True, help="installed model name or catalog id")
    d.add_argument("--top", type=int, default=5)
    d.add_argument("--max-tokens", type=int, default=2048)
    d.add_argument("--seed", type=int)
    d.add_argument("--provider", choices=PROVIDERS, default="auto")
    d.add_argument("--no-rerank", action="store_true", help="skip the reranker for this question")
    d.add_argument("--json", action="store_true")
    d = docs.add_parser("embedder", help="install an embedding model: --get downloads one, or a local folder")
    d.add_argument("path", type=Path, nargs="?", help="a local sentence-embedding checkpoint folder")
    d.add_argument("--get", nargs="?", const="", metavar="ID", help="download a catalog embedder (default one)")
    d.add_argument("--list", action="store_true", help="the embedders Ponder offers")
    d.add_argument("--use", metavar="ID", help="use this installed embedder for documents")
    d.add_argument("--name", help="folder name for a local checkpoint's export")
    d = docs.add_parser("reranker", help="second-stage reranking (off until chosen): --get downloads a "
                                         "cross-encoder, --use switches it on")
    d.add_argument("path", type=Path, nargs="?", help="a local cross-encoder checkpoint folder to export")
    d.add_argument("--get", nargs="?", const="", metavar="ID", help="download a catalog reranker (default one)")
    d.add_argument("--list", action="store_true", help="the rerankers Ponder offers, and whether reranking is on")
    d.add_argument("--use", metavar="ID", help="rerank with this installed reranker ('off' turns reranking off)")
    d.add_argument("--name", help="folder name for a local checkpoint's export")
    p.set_defaults(func=cmd_docs)
