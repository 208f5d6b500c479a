"""Checkpoint → installed ONNX model, in restartable stages: export, quantize, assemble, install.

Each stage writes into a ``*.tmp`` folder inside ``models/.staging/<name>/`` and renames it when finished, so a
killed conversion resumes at the first unfinished stage and nothing half-built is ever installed.
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

from engine.cancel import CancelToken
from engine.catalog import Architecture, estimate_disk_bytes
from engine.convert.manifest import GRAPH_GENAI_FUSED, Manifest, hash_folder, tool_versions, write_manifest
from engine.convert.process import run_stage
from engine.convert.quantize import Int4Options
from engine.errors import ConversionError, DiskSpaceError
from engine.paths import check_model_name
from engine.progress import Progress, ProgressCallback, ignore_progress
from engine.store import InstalledModel, install, staging_dir

SUPPORTED_ARCHITECTURES = {"Qwen2ForCausalLM": "qwen2", "LlamaForCausalLM": "llama"}
PROVIDERS = ("cpu", "cuda", "dml", "coreml")
CARRIED_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "chat_template.jinja", "tokenizer.model", "vocab.json", "merges.txt",
                 "LICENSE", "README.md")


@dataclass(frozen=True)
class Checkpoint:
    """A Hugging Face checkpoint folder that Ponder can convert."""

    path: Path
    family: str
    config: dict[str, Any]

    @property
    def architecture(self) -> Architecture:
        """Shape facts for size estimates and the manifest."""
        c = self.config
        return Architecture(
            family=self.family, hidden_size=int(c["hidden_size"]), intermediate_size=int(c["intermediate_size"]),
            num_layers=int(c["num_hidden_layers"]), num_heads=int(c["num_attention_heads"]),
            num_kv_heads=int(c.get("num_key_value_heads", c["num_attention_heads"])),
            vocab_size=int(c["vocab_size"]), context_length=int(c.get("max_position_embeddings", 4096)),
            tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
        )


@dataclass(frozen=True)
class Plan:
    """How a precision/provider pair is built: the builder's precision and EP, then optional int4."""

    precision: str
    provider: str
    export_precision: str
    export_ep: str
    quantize: bool


def read_checkpoint_json(path: Path) -> dict[str, Any]:
    """A checkpoint's JSON file (config.json and the like) as a dict; ConversionError when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConversionError(f"{path} cannot be read: {err}.", "Download the checkpoint again.") from err
    if not isinstance(data, dict):
        raise ConversionError(f"{path} is not a JSON object.", "Download the checkpoint again.")
    return data


def inspect_checkpoint(path: Path) -> Checkpoint:
    """Check that ``path`` is a convertible checkpoint: config.json of a supported architecture, safetensors
    weights, a tokenizer, and no custom code."""
    path = Path(path).expanduser()
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ConversionError(f"{path} is not a Hugging Face checkpoint folder (no config.json).",
                              "Point at the folder that holds config.json and *.safetensors.")
    config = read_checkpoint_json(config_path)
    if "auto_map" in config:
        raise ConversionError(f"{path.name} needs custom Python code (auto_map in config.json).",
                              "Ponder never runs code from a model; choose a checkpoint of a standard architecture.")
    archs = config.get("architectures") or []
    family = SUPPORTED_ARCHITECTURES.get(archs[0]) if archs else None
    if family is None:
        raise ConversionError(f"Architecture {archs[0] if archs else '(none)'} is not supported.",
                              f"Supported: {', '.join(SUPPORTED_ARCHITECTURES)}.")
    if not any(path.glob("*.safetensors")):
        hint = ("It only has PyTorch pickles (.bin), which Ponder does not load; use a repository with "
                "*.safetensors.") if any(path.glob("*.bin")) else "Download the weights (*.safetensors)."
        raise ConversionError(f"{path} has no *.safetensors weights.", hint)
    if not (path / "tokenizer.json").is_file():
        raise ConversionError(f"{path} has no tokenizer.json.", "Ponder needs the fast tokenizer file.")
    return Checkpoint(path, family, config)


def plan(precision: str, provider: str) -> Plan:
    """Decide the stages for a precision and provider, or explain why the pair is not offered."""
    if provider not in PROVIDERS:
        raise ConversionError(f"Unknown provider {provider!r}.", f"Choose one of: {', '.join(PROVIDERS)}.")
    gpu = provider in ("cuda", "dml")
    ep = provider if gpu else "cpu"
    if precision == "int4":
        return Plan(precision, provider, "fp16" if gpu else "fp32", ep, quantize=True)
    if precision == "fp16":
        if not gpu:
            raise ConversionError("fp16 is for GPU providers (cuda, dml); on the CPU it is slow and large.",
                                  "Use --precision int4 for the CPU.")
        return Plan(precision, provider, "fp16", ep, quantize=False)
    if precision == "fp32":
        return Plan(precision, provider, "fp32", "cpu", quantize=False)
    raise ConversionError(f"Unknown precision {precision!r}.", "Choose int4, fp16 or fp32.")


def _fingerprint(ckpt: Checkpoint, p: Plan) -> dict[str, Any]:
    files = {f.name: [f.stat().st_size, f.stat().st_mtime_ns] for f in sorted(ckpt.path.iterdir()) if f.is_file()}
    return {"source": str(ckpt.path.resolve()), "files": files, "precision": p.precision, "provider": p.provider}


def _check_disk(work: Path, ckpt: Checkpoint, p: Plan) -> None:
    arch = ckpt.architecture
    need = estimate_disk_bytes(arch, p.export_precision)
    if p.quantize:
        need += estimate_disk_bytes(arch, "int4")
    free = shutil.disk_usage(work).free
    if free < need * 1.05:
        raise DiskSpaceError(f"Converting needs about {need / 1e9:.1f} GB free; {free / 1e9:.1f} GB is free at "
                             f"{work}.", "Free some disk space (or set PONDER_HOME to a larger drive) and retry.")


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
                       cancel: CancelToken | None = None) -> InstalledModel:
    """Convert the checkpoint at ``src`` and install it as ``name``; resumable, cancellable, atomic."""
    check_model_name(name)
    ckpt = inspect_checkpoint(src)
    p = plan(precision, provider)
    work = staging_dir() / name
    job = _fingerprint(ckpt, p)
    job_file = work / "job.json"
    if work.exists() and (not job_file.is_file() or json.loads(job_file.read_text(encoding="utf-8")) != job):
        shutil.rmtree(work)  # a different job left this: its stages do not apply
    work.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(job), encoding="utf-8")
    _check_disk(work, ckpt, p)
    started = time.monotonic()
    stats: dict[str, Any] = {}

    def stage(key: str, label: str, args: list[str]) -> Path:
        done_dir = work / key
        if (done_dir / ".done").is_file():
            return done_dir
        tmp = work / f"{key}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()

        def report(done: int, total: int) -> None:
            progress(Progress(stage=key, done=done, total=total, unit="steps", message=f"{label} {done}/{total}"))

        result = run_stage([*args, "--out", str(tmp)], on_progress=report, cancel=cancel, what=label,
                           log_path=work / f"{key}.log")
        stats[f"{key}_peak_rss"] = result.peak_rss
        (tmp / ".done").write_text(json.dumps({"peak_rss": result.peak_rss}), encoding="utf-8")
        shutil.rmtree(done_dir, ignore_errors=True)
        tmp.rename(done_dir)
        return done_dir

    exported = stage("convert", "Exporting to ONNX",
                     ["export", "--src", str(ckpt.path), "--precision", p.export_precision, "--ep", p.export_ep])
    graph_dir = exported
    quant: dict[str, Any] = {}
    if p.quantize:
        opts = Int4Options()
        quant = {"method": "rtn", "bits": 4, "op": "MatMulNBits", **asdict(opts)}
        graph_dir = stage("quantize", "Quantizing to int4", [
            "quantize", "--src", str(exported), "--block-size", str(opts.block_size), "--accuracy-level",
            str(opts.accuracy_level), "--lm-head-bits", str(opts.lm_head_bits),
            *(["--symmetric"] if opts.symmetric else [])])
    if cancel is not None:
        cancel.raise_if_cancelled("Conversion")
    final = _assemble(work, ckpt, exported, graph_dir)
    for key in ("convert", "quantize"):
        marker = work / key / ".done"
        if key not in stats and marker.is_file():
            stats[f"{key}_peak_rss"] = json.loads(marker.read_text(encoding="utf-8"))["peak_rss"]
    stats["seconds"] = round(time.monotonic() - started, 1)
    progress(Progress(stage="install", done=0, total=1, unit="steps", message="Verifying files"))
    manifest = Manifest(
        name=name, precision=p.precision, graph_form=GRAPH_GENAI_FUSED, providers=[p.provider],
        architecture=ckpt.architecture.__dict__ | {"hf_architecture": ckpt.config["architectures"][0]},
        source=dict(source) if source else {"local_path": str(ckpt.path.resolve())},
        files=hash_folder(final), quantization=quant, generation=generation_facts(ckpt.path, sampling),
        tools=tool_versions() | {"conversion": json.dumps(stats)},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_manifest(final, manifest)
    model = install(final, name, replace=replace)
    shutil.rmtree(work, ignore_errors=True)
    progress(Progress(stage="install", done=1, total=1, unit="steps", message=f"Installed {name}"))
    return model


def _assemble(work: Path, ckpt: Checkpoint, exported: Path, graph_dir: Path) -> Path:
    final = work / "final"
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir()
    for fname in ("model.onnx", "model.onnx.data"):
        _link_or_copy(graph_dir / fname, final / fname)
    if (exported / "genai_config.json").is_file():
        shutil.copy2(exported / "genai_config.json", final / "genai_config.json")
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
