"""Second-stage reranking: a small cross-encoder reads the question and each candidate passage together and scores
how well the passage answers it; retrieval reorders its top candidates by that score.

A reranker folder holds ``model.onnx`` (written from the checkpoint's safetensors by
:mod:`engine.documents.rerank_graph`, int8 when its scores stay close to fp32, else fp32), ``tokenizer.json`` and
``reranker.json`` (source, model type, max_seq_length, precision, the measured drift of int8 against fp32 on a probe
set, tool versions). :class:`Reranker` runs it on the CPU with ONNX Runtime; :func:`hosted_reranker` gives the
process's model host ownership of the loaded session, as for the embedder. No PyTorch, no pickle, no model code.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.documents.embed import TOKENIZER_FILE, max_seq_length, quantize_int8
from engine.documents.encoder_graph import inline_weights
from engine.documents.rerank_graph import write_cross_encoder
from engine.models.checkpoint import check_checkpoint_files, read_checkpoint_config
from engine.models.convert.manifest import tool_versions
from engine.runtime.host import LOAD_OVERHEAD, ModelHost
from engine.system.errors import StoreError
from engine.system.verify import replace_folder, write_json_atomic

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
CONFIG_FILE = "reranker.json"
# int8 is kept when no probe score moves by more than this share of the fp32 scores' spread (their max - min, at
# least one logit), so the order of clearly different passages cannot change; a broken quantization moves them by
# far more.
MAX_INT8_DRIFT = 0.05
_PROBE_QUERIES = (
    ("How do I reset my password?",
     ("To reset your password, open Settings, choose Account and click 'Forgot password'.",
      "The quick brown fox jumps over the lazy dog.",
      "Passwords must be at least twelve characters long.")),
    ("What does ONNX Runtime run on?",
     ("ONNX Runtime runs models on the CPU, CUDA, DirectML and CoreML.",
      "Photosynthesis converts light energy into chemical energy stored in glucose.",
      "def embed(texts): return model(texts)")),
    ("怎样在本地运行模型？",
     ("机器学习模型可以在本地运行，保护隐私。",
      "今天天气很好，我们去公园散步吧。",
      "Mixed 中英文 text with numbers 12345 and symbols #$%.")),
)


def inspect_reranker_checkpoint(src: Path) -> dict[str, Any]:
    """Check that ``src`` is a checkpoint folder with safetensors weights and tokenizer.json; its config.json.
    Whether it is a cross-encoder is checked when its graph is written."""
    src = Path(src).expanduser()
    config = read_checkpoint_config(src)
    check_checkpoint_files(src)
    return config


def export_reranker(src: Path, dest: Path, *, quantize: bool = True) -> Path:
    """Export a local cross-encoder checkpoint ``src`` into the reranker folder ``dest``; returns ``dest``.

    With ``quantize`` the model is int8 (dynamic, per-channel MatMul weights) when no probe score drifts by more
    than :data:`MAX_INT8_DRIFT` of the fp32 scores' spread; otherwise fp32 is kept. The folder is built beside
    ``dest`` and renamed into place: a failure leaves no ``dest`` (an existing one is replaced only on success).
    Raises ConversionError when ``src`` is not a supported cross-encoder (for instance an embedding model).
    """
    src, dest = Path(src).expanduser(), Path(dest).expanduser()
    config = inspect_reranker_checkpoint(src)
    max_len = max_seq_length(src, config)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    try:
        export_dir = work / "export"
        export_dir.mkdir(parents=True)
        fp32 = inline_weights(write_cross_encoder(src, export_dir, config))
        shutil.copyfile(src / TOKENIZER_FILE, work / TOKENIZER_FILE)
        shutil.move(fp32, work / "model.fp32.onnx")
        shutil.rmtree(export_dir)
        meta: dict[str, Any] = {
            "kind": "cross-encoder",
            "source": {"path": str(src.resolve()), "name_or_path": config.get("_name_or_path", src.name),
                       "model_type": config.get("model_type")},
            "max_seq_length": max_len,
            "precision": "fp32",
            "int8_drift": 0.0,
            "tools": tool_versions(),
        }
        if quantize:
            int8 = work / "model.int8.onnx"
            quantize_int8(work / "model.fp32.onnx", int8)
            drift = _probe_drift(_Session(work / "model.fp32.onnx", work / TOKENIZER_FILE, max_len),
                                 _Session(int8, work / TOKENIZER_FILE, max_len))
            meta["int8_drift"] = round(drift, 6)
            if drift <= MAX_INT8_DRIFT:
                meta["precision"] = "int8"
                os.replace(int8, work / MODEL_FILE)
                (work / "model.fp32.onnx").unlink()
            else:
                log.warning("int8 reranker drifts (%.3f > %.2f of the score spread); keeping fp32", drift,
                            MAX_INT8_DRIFT)
                meta["int8_rejected"] = True
                int8.unlink()
        if meta["precision"] == "fp32":
            os.replace(work / "model.fp32.onnx", work / MODEL_FILE)
        meta["export_seconds"] = round(time.monotonic() - started, 2)
        write_json_atomic(work / CONFIG_FILE, meta)
        replace_folder(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return dest


def _probe_drift(reference: _Session, candidate: _Session) -> float:
    """Largest move of a probe score from ``reference`` to ``candidate``, as a share of the reference's spread."""
    want = np.concatenate([reference.score(q, list(ps)) for q, ps in _PROBE_QUERIES])
    got = np.concatenate([candidate.score(q, list(ps)) for q, ps in _PROBE_QUERIES])
    # a logit of 1 at least: a model the probe texts mean nothing to (all scores alike) is judged in logits
    spread = max(float(want.max() - want.min()), 1.0)
    return float(np.abs(got - want).max()) / spread


class _Session:
    """An ONNX cross-encoder plus its tokenizer: (query, passage) pairs in, one logit per pair out."""

    def __init__(self, model: Path, tokenizer: Path, max_seq_length: int, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        from engine.system.ortsession import base_options, new_session

        self.session = new_session(model, base_options(threads), ["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        if [o.name for o in self.session.get_outputs()] != ["logits"]:
            raise StoreError(f"{model} is not a cross-encoder (it has no 'logits' output).",
                             "Export the reranker again with 'ponder docs reranker'.")
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(max_length=max_seq_length, strategy="longest_first")
        pad_id, pad_token = self.tokenizer.token_to_id("[PAD]"), "[PAD]"
        if pad_id is None:
            pad_id, pad_token = self.tokenizer.token_to_id("<pad>") or 0, "<pad>"
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)

    def score(self, query: str, passages: Sequence[str], batch_size: int = 16) -> np.ndarray:
        # passages of similar length share a batch: each batch is padded to its longest pair
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        out = np.zeros(len(passages), dtype=np.float32)
        for start in range(0, len(order), max(1, batch_size)):
            rows = order[start:start + batch_size]
            encs = self.tokenizer.encode_batch([(query, passages[i]) for i in rows])
            feeds = {"input_ids": np.asarray([e.ids for e in encs], dtype=np.int64),
                     "attention_mask": np.asarray([e.attention_mask for e in encs], dtype=np.int64)}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.asarray([e.type_ids for e in encs], dtype=np.int64)
            logits = np.asarray(self.session.run(["logits"], feeds)[0], dtype=np.float32)
            out[np.asarray(rows, dtype=np.int64)] = logits[:, 0]
        return out


class Reranker:
    """A cross-encoder folder made by :func:`export_reranker`, run on the CPU."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        folder = Path(folder)
        try:
            meta = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise StoreError(f"{folder} holds no reranker (no {CONFIG_FILE}).",
                             "Get one with 'ponder docs reranker --get', or export a cross-encoder checkpoint "
                             "with 'ponder docs reranker --export SRC'.") from err
        except (OSError, json.JSONDecodeError) as err:
            raise StoreError(f"{folder / CONFIG_FILE} is damaged ({err}).", "Export the reranker again.") from err
        if not isinstance(meta, dict) or meta.get("kind") != "cross-encoder":
            raise StoreError(f"{folder / CONFIG_FILE} does not describe a cross-encoder.",
                             "Export the reranker again.")
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not (folder / name).is_file():
                raise StoreError(f"The reranker {folder.name} has no {name}.", "Export the reranker again.")
        self.folder = folder
        self.meta: dict[str, Any] = meta
        self.max_seq_length = int(meta.get("max_seq_length", 512))
        self.precision = str(meta.get("precision", "fp32"))
        try:
            self._session = _Session(folder / MODEL_FILE, folder / TOKENIZER_FILE, self.max_seq_length, threads)
        except StoreError:
            raise
        except Exception as err:  # ORT and tokenizers raise their own types for a damaged file
            raise StoreError(f"The reranker {folder.name} cannot be loaded: {err}",
                             "Export the reranker again.") from err

    @property
    def identity(self) -> str:
        """The model (its folder and source) and its precision."""
        source = self.meta.get("source")
        origin = source.get("name_or_path", "") if isinstance(source, dict) else ""
        return f"{self.folder.name}|{origin}|{self.precision}"

    def score(self, query: str, passages: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """The relevance of each passage to ``query`` as float32 logits (higher is more relevant; sigmoid of a
        logit reads as a probability)."""
        if isinstance(passages, str):
            raise TypeError("score() takes a sequence of passages, not one string.")
        if not passages:
            return np.zeros(0, dtype=np.float32)
        return self._session.score(query, passages, batch_size)


class TextReranker(Protocol):
    """What retrieval needs from a reranker (:class:`Reranker`)."""

    @property
    def identity(self) -> str: ...

    def score(self, query: str, passages: Sequence[str], batch_size: int = 16) -> np.ndarray: ...


def hosted_reranker(host: ModelHost, folder: Path) -> Reranker:
    """The reranker in ``folder`` as loaded by the process's model host (call inside a ``host.submit`` job, as
    retrieval for a chat reply is): idle unload and eviction free it like any other model."""
    def need() -> int:
        return int(sum(f.stat().st_size for f in Path(folder).glob("*.onnx*") if f.is_file()) * LOAD_OVERHEAD)

    return host.get(("reranker", str(folder)), Path(folder).name, need, lambda: Reranker(folder))

