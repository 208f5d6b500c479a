"""Checkpoint → installed ONNX model: check, convert (one worker process writes the graph), assemble, install.

The conversion writes into ``models/.staging/<name>/convert.tmp`` and renames it when finished, so a killed
conversion starts that stage again, a finished one is not redone, and nothing half-built is ever installed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from engine.models.catalog import Architecture, ConversionNeeds, conversion_needs
from engine.models.checkpoint import check_checkpoint_files, read_checkpoint_config
from engine.models.convert.kv_cache import KV_INT8_GRAPH, convert_kv_int8
from engine.models.convert.manifest import Manifest, hash_folder, tool_versions, write_manifest
from engine.models.convert.options import GRAPH_FORM, BuildOptions
from engine.models.convert.process import run_stage
from engine.models.convert.rope import check_rope, rope_kind
from engine.models.convert.safetensors_io import CheckpointTensors
from engine.models.convert.spec import ModelSpec, check_tensors, read_spec
from engine.models.store import InstalledModel, install, staging_dir
from engine.system.cancel import CancelToken
from engine.system.errors import ConversionError, DiskSpaceError
from engine.system.paths import check_model_name
from engine.system.progress import Progress, ProgressCallback, Stage, format_bytes, ignore_progress
from engine.system.verify import write_json_atomic

PROVIDERS = ("cpu", "cuda", "dml", "coreml")
CARRIED_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "chat_template.jinja", "tokenizer.model", "vocab.json", "merges.txt",
                 "LICENSE", "README.md")


@dataclass(frozen=True)
class Checkpoint:
    """A Hugging Face checkpoint folder that Ponder can convert."""

    path: Path
    spec: ModelSpec
    config: dict[str, Any]

    @property
    def family(self) -> str:
        """"qwen2", "llama" or "qwen3"."""
        return self.spec.family

    @property
    def architecture(self) -> Architecture:
        """Shape facts for size estimates and the manifest."""
        return spec_architecture(self.spec)


def spec_architecture(s: ModelSpec) -> Architecture:
    """The catalog's shape facts of a checkpoint's spec (what sizes and fit estimates use)."""
    return Architecture(family=s.family, hidden_size=s.hidden, intermediate_size=s.intermediate,
                        num_layers=s.layers, num_heads=s.heads, num_kv_heads=s.kv_heads, vocab_size=s.vocab,
                        context_length=s.context, tie_word_embeddings=s.tie_embeddings,
                        explicit_head_dim=s.head_dim if s.head_dim != s.hidden // s.heads else 0)


def inspect_checkpoint(path: Path) -> Checkpoint:
    """Check that ``path`` is a convertible checkpoint: config.json of a supported architecture whose shapes its
    safetensors weights match, a tokenizer, and no custom code."""
    path = Path(path).expanduser()
    config = read_checkpoint_config(path)
    spec = read_spec(config)
    check_rope(spec)
    check_checkpoint_files(path)
    check_tensors(spec, CheckpointTensors(path))
    return Checkpoint(path, spec, config)


def build_options(precision: str, provider: str, kv_cache: str = "float") -> BuildOptions:
    """The graph for a precision and provider (and KV cache: "float", or "int8" on the CPU), or ConversionError
    saying why the choice is not offered."""
    if provider not in PROVIDERS:
        raise ConversionError(f"Unknown provider {provider!r}.", f"Choose one of: {', '.join(PROVIDERS)}.")
    if precision not in ("int4", "fp16", "fp32"):
        raise ConversionError(f"Unknown precision {precision!r}.", "Choose int4, fp16 or fp32.")
    if precision == "fp16" and provider not in ("cuda", "dml"):
        raise ConversionError("fp16 is for GPU providers (cuda, dml); on the CPU it is slow and large.",
                              "Use --precision int4 for the CPU.")
    try:
        return BuildOptions(precision=precision, provider=provider, kv_cache=kv_cache)
    except ValueError as err:  # e.g. an int8 KV cache for a GPU provider
        raise ConversionError(str(err), "Use the float KV cache (the default) for this provider.") from err


def _fingerprint(ckpt: Checkpoint, options: BuildOptions) -> dict[str, Any]:
    files = {f.name: [f.stat().st_size, f.stat().st_mtime_ns] for f in sorted(ckpt.path.iterdir()) if f.is_file()}
    return {"source": str(ckpt.path.resolve()), "files": files, "options": options.record()}


def check_resources(ckpt: Checkpoint, options: BuildOptions, work: Path) -> ConversionNeeds:
    """Refuse before any work when the disk or memory cannot hold the conversion; the needs otherwise."""
    needs = conversion_needs(ckpt.architecture, options.precision)
    free = shutil.disk_usage(work).free
    if free < needs.disk_bytes:
        raise DiskSpaceError(f"Converting needs about {needs.disk_bytes / 1e9:.1f} GB free; {free / 1e9:.1f} GB is "
                             f"free at {work}.", "Free some disk space (or set PONDER_HOME to a larger drive) and "
                                                 "retry.")
    available = psutil.virtual_memory().available
    if available < needs.ram_bytes:
        raise ConversionError(f"Converting needs about {needs.ram_bytes / 1e9:.1f} GB of free memory; "
                              f"{available / 1e9:.1f} GB is free.", "Close other programs and retry.")
    return needs


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def generation_facts(folder: Path, sampling: dict[str, Any] | None = None) -> dict[str, Any]:
    """EOS/BOS ids, context length and sampling defaults of a model folder, from generation_config.json and
    config.json, or from the builder's genai_config.json (all a prebuilt ONNX build may carry)."""
    gen, config = _read_json(folder / "generation_config.json"), _read_json(folder / "config.json")
    genai = _read_json(folder / "genai_config.json").get("model", {})
    eos = gen.get("eos_token_id", config.get("eos_token_id", genai.get("eos_token_id")))
    eos_ids = sorted({int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None})
    if not eos_ids:
        raise ConversionError(f"{folder.name}: no end-of-sequence token id in its configuration files.",
                              "The model would never stop; use a complete checkpoint.")
    defaults = {k: gen[k] for k in ("temperature", "top_p", "top_k", "repetition_penalty") if k in gen}
    context = config.get("max_position_embeddings", genai.get("context_length"))
    return {"eos_token_ids": eos_ids, "bos_token_id": gen.get("bos_token_id", config.get("bos_token_id",
            genai.get("bos_token_id"))), "context_length": context, "sampling": sampling or defaults}


def convert_checkpoint(src: Path, name: str, *, precision: str = "int4", provider: str = "cpu",
                       source: dict[str, Any] | None = None, sampling: dict[str, Any] | None = None,
                       replace: bool = False, progress: ProgressCallback = ignore_progress,
                       cancel: CancelToken | None = None, options: BuildOptions | None = None,
                       kv_cache: str = "float") -> InstalledModel:
    """Convert the checkpoint at ``src`` and install it as ``name``; resumable, cancellable, atomic.

    The graph is written by Ponder's own converter (engine.models.convert.decoder_graph) in a worker process that reads
    one weight at a time, so memory stays bounded whatever the model's size. ``options`` (benchmarks) replaces the
    defaults for ``precision``, ``provider`` and ``kv_cache`` ("int8": a calibrated int8 KV cache on the CPU, which
    reads 4x fewer bytes per token than the float cache; see engine.models.convert.kv_cache).
    """
    check_model_name(name)
    ckpt = inspect_checkpoint(src)
    options = options or build_options(precision, provider, kv_cache)
    work = staging_dir() / name
    job = _fingerprint(ckpt, options)
    job_file = work / "job.json"
    if work.exists() and (not job_file.is_file() or json.loads(job_file.read_text(encoding="utf-8")) != job):
        shutil.rmtree(work)  # a different job left this: its stage does not apply
    work.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(job), encoding="utf-8")
    needs = check_resources(ckpt, options, work)
    progress(Progress(stage=Stage.CHECK, done=1, total=1, unit="steps", message=(
        f"{ckpt.spec.hf_architecture}, {ckpt.architecture.total_params() / 1e9:.2f}B parameters: converting needs "
        f"about {format_bytes(needs.ram_bytes)} of memory and {format_bytes(needs.disk_bytes)} of disk")))
    started = time.monotonic()
    graph_dir = work / "convert"
    marker = graph_dir / ".done"
    if marker.is_file():
        peak_rss = int(json.loads(marker.read_text(encoding="utf-8"))["peak_rss"])
    else:
        tmp = work / "convert.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()

        def report(done: int, total: int) -> None:
            progress(Progress(stage=Stage.CONVERT, done=done, total=total, unit="steps",
                              message=f"Converting layer {max(0, done - 1)} of {total - 2}"
                              if 1 < done < total else f"Converting {done}/{total}"))

        result = run_stage(["build", "--src", str(ckpt.path), "--options", json.dumps(asdict(options)),
                            "--out", str(tmp)], on_progress=report, cancel=cancel, what="Converting to ONNX",
                           log_path=work / "convert.log")
        peak_rss = result.peak_rss
        (tmp / ".done").write_text(json.dumps({"peak_rss": peak_rss}), encoding="utf-8")
        shutil.rmtree(graph_dir, ignore_errors=True)
        tmp.rename(graph_dir)
        progress(Progress(stage=Stage.CONVERT, done=1, total=1, unit="steps", message="Converted"))
    if cancel is not None:
        cancel.raise_if_cancelled("Conversion")
    graph_name, kv_record = "model.onnx", dict[str, Any]()
    if options.kv_cache == "int8":
        graph_name, kv_record = _calibrate_kv_cache(graph_dir, ckpt, progress)
    final = _assemble(work, ckpt, graph_dir, graph_name)
    stats = {"convert_peak_rss": peak_rss, "seconds": round(time.monotonic() - started, 1)}
    progress(Progress(stage=Stage.INSTALL, done=0, total=1, unit="steps", message="Verifying files"))
    manifest = Manifest(
        name=name, precision=options.precision, graph_form=GRAPH_FORM, providers=[options.provider],
        architecture=asdict(ckpt.architecture) | {"hf_architecture": ckpt.spec.hf_architecture,
                                                  "head_dim": ckpt.spec.head_dim,
                                                  "rope": rope_kind(ckpt.spec.rope_scaling)},
        source=dict(source) if source else {"local_path": str(ckpt.path.resolve())},
        files=hash_folder(final), quantization=options.record() | kv_record,
        generation=generation_facts(ckpt.path, sampling),
        tools=tool_versions() | {"conversion": json.dumps(stats)},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_manifest(final, manifest)
    model = install(final, name, replace=replace)
    shutil.rmtree(work, ignore_errors=True)
    progress(Progress(stage=Stage.INSTALL, done=1, total=1, unit="steps", message=f"Installed {name}"))
    return model


def _calibrate_kv_cache(graph_dir: Path, ckpt: Checkpoint, progress: ProgressCallback) -> tuple[str, dict[str, Any]]:
    """The int8-cache graph beside the float one (calibrated once; a resumed conversion reuses it) and what the
    manifest records about it."""
    record_file = graph_dir / "kv_int8.json"
    if not (record_file.is_file() and (graph_dir / KV_INT8_GRAPH).is_file()):
        progress(Progress(stage=Stage.CONVERT, done=0, total=1, unit="steps",
                          message="Calibrating the int8 KV cache"))
        scales = convert_kv_int8(graph_dir, ckpt.path / "tokenizer.json", ckpt.spec.context)
        write_json_atomic(record_file, scales.record())
    return KV_INT8_GRAPH, json.loads(record_file.read_text(encoding="utf-8"))


def _assemble(work: Path, ckpt: Checkpoint, graph_dir: Path, graph_name: str = "model.onnx") -> Path:
    final = work / "final"
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir()
    _link_or_copy(graph_dir / graph_name, final / "model.onnx")
    _link_or_copy(graph_dir / "model.onnx.data", final / "model.onnx.data")
    for fname in CARRIED_FILES:
        if (ckpt.path / fname).is_file():
            shutil.copy2(ckpt.path / fname, final / fname)
    return final


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link (no extra disk, the stage keeps its copy for a resume) or copy where links are not possible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
