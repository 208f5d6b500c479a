"""``ponder models``, ``pull``, ``convert`` and ``rm``: the catalog and the installed models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.cli.common import PRECISIONS, PROVIDERS, ProgressPrinter, Subparsers, auto_provider, gb


def cmd_models(args: argparse.Namespace) -> int:
    from engine.models.catalog import load_catalog
    from engine.models.store import list_installed

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
        need = f"int4 {gb(int4.disk_bytes)} disk, {gb(int4.ram_bytes)} RAM" if int4 else ""
        print(f"  {e.id:32} {e.params / 1e9:5.1f}B  {e.license[:12]:12}  download {gb(e.download_bytes):>8}  {need}")
    print("Installed:" if installed else "Installed: none (try 'ponder pull deepseek-r1-distill-qwen-1.5b')")
    for m in installed:
        print(f"  {m.name:32} {m.manifest.precision:5} {','.join(m.manifest.providers):8} "
              f"{gb(m.manifest.size_bytes):>8}  {m.path}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from engine.models.pulljobs import PullSpec, run_job

    provider = auto_provider(args.provider)
    spec = PullSpec.for_pull(args.model, args.precision, provider, name=args.name or "", prebuilt=not args.convert,
                             keep_download=args.keep_download, kv_cache=args.kv_cache)
    model = run_job(spec, progress=ProgressPrinter())  # the same job, record and lock as the Models page's
    print(f"Ready: {model.name} ({model.manifest.precision}, {gb(model.manifest.size_bytes)}) at {model.path}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from engine.models.convert.pipeline import convert_checkpoint

    provider = auto_provider(args.provider)
    model = convert_checkpoint(args.path, args.name, precision=args.precision, provider=provider,
                               replace=args.replace, progress=ProgressPrinter(), kv_cache=args.kv_cache)
    print(f"Ready: {model.name} ({model.manifest.precision}, {gb(model.manifest.size_bytes)}) at {model.path}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from engine.models.store import delete

    delete(args.name)
    print(f"Deleted {args.name}.")
    return 0


def add_models(sub: Subparsers) -> None:
    p = sub.add_parser("models", help="the catalog and installed models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)


def add_pull(sub: Subparsers) -> None:
    p = sub.add_parser("pull", help="download a catalog model and convert it to ONNX")
    p.add_argument("model", help="catalog id, Hub repo id or name (see 'ponder models')")
    p.add_argument("--precision", choices=PRECISIONS, default="int4")
    p.add_argument("--provider", choices=PROVIDERS, default="auto")
    p.add_argument("--name", help="installed name (default: catalog id and precision)")
    p.add_argument("--convert", action="store_true", help="convert from the checkpoint even if a prebuilt exists")
    p.add_argument("--keep-download", action="store_true", help="keep the downloaded checkpoint afterwards")
    _kv_cache_option(p)
    p.set_defaults(func=cmd_pull)


def _kv_cache_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kv-cache", choices=("float", "int8"), default="float",
                   help="int8: a calibrated int8 KV cache (CPU only; converts even where a prebuilt build exists): "
                        "a quarter of the cache's memory and faster decode at long context; greedy agreement "
                        "0.99-1.0 with the float cache on the test models")


def add_convert(sub: Subparsers) -> None:
    p = sub.add_parser("convert", help="convert a local Hugging Face checkpoint folder")
    p.add_argument("path", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--precision", choices=PRECISIONS, default="int4")
    p.add_argument("--provider", choices=PROVIDERS, default="auto")
    _kv_cache_option(p)
    p.add_argument("--replace", action="store_true", help="replace an installed model of the same name")
    p.set_defaults(func=cmd_convert)


def add_rm(sub: Subparsers) -> None:
    p = sub.add_parser("rm", help="delete an installed model")
    p.add_argument("name")
    p.set_defaults(func=cmd_rm)
