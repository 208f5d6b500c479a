"""Sentence embeddings for the document features: export a BERT-style checkpoint to ONNX, then embed with it.

An embedder folder holds ``model.onnx`` (int8 dynamic quantization, or fp32 when int8 drifts too far),
``tokenizer.json`` and ``embedder.json`` (source, dims, max_seq_length, pooling, normalize, precision, the measured
minimum cosine of int8 against fp32 on a probe set, optional query/passage prefixes, tool versions).
:class:`Embedder` runs it on the CPU with ONNX Runtime and the ``tokenizers`` library: mean pooling over the
attention mask, then L2 normalisation, so a dot product is a cosine similarity.

Default embedder to offer for Chinese + English (a recommendation; it is not downloaded or tested here):
``intfloat/multilingual-e5-small`` -- MIT licence, 118M parameters (about 120 MB as int8 ONNX), 384 dimensions,
512 tokens, BERT architecture (exports with :func:`export_embedder`), and clearly better than the alternatives on
MTEB retrieval in both Chinese (C-MTEB) and English. It expects ``"query: "`` before questions and
``"passage: "`` before document chunks: record them as ``query_prefix`` / ``passage_prefix`` in ``embedder.json``
(see :func:`export_embedder`) and call :meth:`Embedder.embed_queries` / :meth:`Embedder.embed_passages`.
Alternatives: ``sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2`` (Apache-2.0, 118M, 384 dims, 128
tokens; trained for paraphrase, weaker at retrieval, short context) and ``BAAI/bge-small-zh-v1.5`` (MIT, 24M,
512 dims; excellent Chinese but weak English). ``all-MiniLM-L6-v2`` (Apache-2.0, 22M) is English-only and is what
the tests use.

Note: int8 *dynamic* quantization computes activation scales per call, so int8 vectors shift slightly (well under
the cosine threshold) with the batch they were computed in; fp32 vectors do not.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from engine.documents.encoder_graph import ENCODER_MODEL_TYPES, encoder_hidden_size, inline_weights, write_encoder
from engine.models.checkpoint import check_checkpoint_files, read_checkpoint_config, read_checkpoint_json
from engine.models.convert.manifest import tool_versions
from engine.runtime.host import LOAD_OVERHEAD, ModelHost
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, ConversionError, StoreError
from engine.system.paths import ponder_home
from engine.system.verify import replace_folder, write_json_atomic

log = logging.getLogger(__name__)
T = TypeVar("T")

MODEL_FILE = "model.onnx"
FP32_FILE = "model.fp32.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "embedder.json"
# int8 is kept when its vectors stay this close to fp32 on the probe set. The bar was 0.99, which rejected
# all-MiniLM-L6-v2 (0.977); on the retrieval benchmark (bench/retrieval_quality.py, 79 questions, en + zh) its int8
# export retrieves the same recall@5 (en 0.833, zh 0.600) with MRR 0.655 vs 0.676 and indexes 1.8x faster, so
# retrieval, not the cosine, sets the bar; 0.97 still rejects a broken quantization.
MIN_INT8_COSINE = 0.97
SUPPORTED_MODEL_TYPES = ENCODER_MODEL_TYPES  # what engine.documents.encoder_graph writes
_PROBE = (
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password?",
    "ONNX Runtime runs models on the CPU, CUDA, DirectML and CoreML.",
    "今天天气很好，我们去公园散步吧。",
    "机器学习模型可以在本地运行，保护隐私。",
    "I love this! 😀🎉",
    "Mixed 中英文 text with numbers 12345 and symbols #$%.",
    "a",
    "Photosynthesis converts light energy into chemical energy stored in glucose. " * 12,
    "def embed(texts): return model(texts)",
)


def default_embedder_dir(name: str = "custom") -> Path:
    """Where the app keeps an embedder it exported from a local checkpoint (``name`` is its folder name)."""
    return ponder_home() / "embedders" / name


def inspect_embedder_checkpoint(src: Path) -> dict[str, Any]:
    """Check ``src`` is a standard encoder checkpoint with safetensors weights and tokenizer.json; its config."""
    src = Path(src).expanduser()
    config = read_checkpoint_config(src)
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ConversionError(f"Model type {model_type!r} is not a supported sentence encoder.",
                              f"Supported: {', '.join(SUPPORTED_MODEL_TYPES)}.")
    check_checkpoint_files(src)
    return config


def max_seq_length(src: Path, config: dict[str, Any]) -> int:
    """The longest input a BERT-family checkpoint in ``src`` takes: its positions (less the padding offset of the
    RoBERTa family) and its tokenizer's own limit, whichever is smaller. Shared by the embedder and reranker exports."""
    limits = [int(config.get("max_position_embeddings", 512))]
    if config.get("model_type") in ("roberta", "xlm-roberta", "mpnet"):
        limits[0] -= 2  # positions start after the padding index
    st = src / "sentence_bert_config.json"
    st_length = read_checkpoint_json(st).get("max_seq_length") if st.is_file() else None
    if isinstance(st_length, int):
        limits.append(st_length)
    else:
        tok = src / "tokenizer_config.json"
        if tok.is_file():
            value = read_checkpoint_json(tok).get("model_max_length")
            if isinstance(value, int) and value > 0:
                limits.append(value)
    return min(limits)


def _pooling_mode(src: Path) -> str:
    pooling = src / "1_Pooling" / "config.json"
    if pooling.is_file():
        data = read_checkpoint_json(pooling)
        if not data.get("pooling_mode_mean_tokens", True):
            raise ConversionError(f"{src.name} uses a pooling other than mean pooling.",
                                  "Ponder's embedder supports mean-pooled sentence encoders only.")
    return "mean"


def _export_fp32(src: Path, out_dir: Path) -> Path:
    """Write the fp32 encoder graph from the safetensors (no PyTorch, no pickle, no remote code): one model.onnx."""
    config = read_checkpoint_json(src / "config.json")
    exported = inline_weights(write_encoder(src, out_dir, config))
    if exported.name != MODEL_FILE or not exported.is_file():
        raise ConversionError("The encoder writer produced no model.onnx.", "Report this with the checkpoint's name.")
    return exported


def quantize_int8(fp32: Path, out: Path) -> None:
    """Write ``out``, the int8 (dynamic, MatMuls only) form of the encoder graph ``fp32``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Only the MatMuls: quantizing Gather (embeddings) and Attention costs accuracy for little size.
    quantize_dynamic(fp32, out, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])


def export_embedder(src: Path, dest: Path, *, quantize: bool = True, query_prefix: str = "",
                    passage_prefix: str = "") -> Path:
    """Export a local sentence-embedding checkpoint ``src`` into the embedder folder ``dest``; returns ``dest``.

    With ``quantize`` the model is int8 (dynamic, per-channel MatMul weights) when its vectors keep a cosine of at
    least :data:`MIN_INT8_COSINE` against fp32 on a probe set; otherwise the fp32 model is kept. The folder is built
    beside ``dest`` and renamed into place, so a failure leaves no ``dest`` (and an existing one is replaced only on
    success).
    """
    src, dest = Path(src).expanduser(), Path(dest).expanduser()
    config = inspect_embedder_checkpoint(src)
    max_len = max_seq_length(src, config)
    pooling = _pooling_mode(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    try:
        export_dir = work / "export"
        export_dir.mkdir(parents=True)
        fp32 = _export_fp32(src, export_dir)
        shutil.copyfile(src / TOKENIZER_FILE, work / TOKENIZER_FILE)
        shutil.move(fp32, work / FP32_FILE)
        shutil.rmtree(export_dir)
        meta: dict[str, Any] = {
            "source": {"path": str(src.resolve()), "name_or_path": config.get("_name_or_path", src.name),
                       "model_type": config.get("model_type")},
            "dims": encoder_hidden_size(config),
            "max_seq_length": max_len,
            "pooling": pooling,
            "normalize": True,
            "precision": "fp32",
            "min_cosine_vs_fp32": 1.0,
            "query_prefix": query_prefix,
            "passage_prefix": passage_prefix,
            "tools": tool_versions(),
        }
        if quantize:
            int8 = work / "model.int8.onnx"
            quantize_int8(work / FP32_FILE, int8)
            reference = _Session(work / FP32_FILE, work / TOKENIZER_FILE, max_len).embed(list(_PROBE))
            candidate = _Session(int8, work / TOKENIZER_FILE, max_len).embed(list(_PROBE))
            min_cos = float(np.min(np.sum(reference * candidate, axis=1)))
            meta["min_cosine_vs_fp32"] = round(min_cos, 6)
            if min_cos >= MIN_INT8_COSINE:
                meta["precision"] = "int8"
                os.replace(int8, work / MODEL_FILE)
                (work / FP32_FILE).unlink()
            else:
                log.warning("int8 embedder drifts (min cosine %.4f < %.2f); keeping fp32", min_cos, MIN_INT8_COSINE)
                meta["int8_rejected"] = True
                int8.unlink()
        if meta["precision"] == "fp32":
            os.replace(work / FP32_FILE, work / MODEL_FILE)
        meta["export_seconds"] = round(time.monotonic() - started, 2)
        write_json_atomic(work / CONFIG_FILE, meta)
        replace_folder(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return dest


class _Session:
    """An ONNX encoder plus its tokenizer: mean pooling, L2 normalisation."""

    def __init__(self, model: Path, tokenizer: Path, max_seq_length: int, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        from engine.system.ortsession import base_options, new_session

        self.session = new_session(model, base_options(threads), ["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        self.output = "last_hidden_state" if "last_hidden_state" in outputs else outputs[0]
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.counter = Tokenizer.from_file(str(tokenizer))
        self.counter.no_padding()
        self.counter.no_truncation()
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        pad_token = "[PAD]"
        if pad_id is None:
            pad_id, pad_token = self.tokenizer.token_to_id("<pad>") or 0, "<pad>"
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        width = self.session.get_outputs()[0].shape[-1]
        self.dims = width if isinstance(width, int) else 0

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        # batches of similar length: each batch is padded to its longest text, so mixing a heading with a full
        # chunk would spend most of the work on padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        texts = [texts[i] for i in order]
        chunks: list[np.ndarray] = []
        for start in range(0, len(texts), max(1, batch_size)):
            encs = self.tokenizer.encode_batch(list(texts[start:start + batch_size]))
            ids = np.asarray([e.ids for e in encs], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feeds["token_type_ids"] = np.asarray([e.type_ids for e in encs], dtype=np.int64)
            feeds = {k: v for k, v in feeds.items() if k in self.inputs}
            hidden = np.asarray(self.session.run([self.output], feeds)[0], dtype=np.float32)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            chunks.append((pooled / np.clip(norms, 1e-12, None)).astype(np.float32))
        if not chunks:
            return np.zeros((0, self.dims), dtype=np.float32)
        out = np.empty((len(order), chunks[0].shape[1]), dtype=np.float32)
        out[np.asarray(order, dtype=np.int64)] = np.concatenate(chunks, axis=0)
        return out


class Embedder:
    """A sentence embedder folder made by :func:`export_embedder`, run on the CPU."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        folder = Path(folder)
        try:
            meta = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise StoreError(f"{folder} has no {CONFIG_FILE} (not a finished embedder).",
                             "Export the embedder again.") from err
        except (OSError, json.JSONDecodeError) as err:
            raise StoreError(f"{folder / CONFIG_FILE} is damaged ({err}).", "Export the embedder again.") from err
        if meta.get("pooling") != "mean":
            raise StoreError(f"{folder.name}: unsupported pooling {meta.get('pooling')!r}.",
                             "Export the embedder again.")
        self.folder = folder
        self.meta: dict[str, Any] = meta
        self._dims = int(meta["dims"])
        self.max_seq_length = int(meta["max_seq_length"])
        self.precision = str(meta.get("precision", "fp32"))
        self.query_prefix = str(meta.get("query_prefix") or "")
        self.passage_prefix = str(meta.get("passage_prefix") or "")
        self._session = _Session(folder / MODEL_FILE, folder / TOKENIZER_FILE, self.max_seq_length, threads)
        self._session.dims = self._dims

    @property
    def dims(self) -> int:
        """Length of each vector."""
        return self._dims

    @property
    def identity(self) -> str:
        """What makes two embedders' vectors comparable: the model (its source and folder), precision and size."""
        source = self.meta.get("source")
        origin = source.get("name_or_path", "") if isinstance(source, dict) else ""
        return f"{self.folder.name}|{origin}|{self.precision}|{self._dims}"

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Vectors for ``texts`` as a float32 array (len(texts), dims), each of unit length."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string.")
        return self._session.embed(texts, batch_size)

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Like :meth:`embed`, with the model's query prefix (e.g. ``"query: "`` for e5) in front of each."""
        return self.embed([self.query_prefix + t for t in texts], batch_size)

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Like :meth:`embed`, with the model's passage prefix (e.g. ``"passage: "`` for e5) in front of each."""
        return self.embed([self.passage_prefix + t for t in texts], batch_size)

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes, special tokens included and not truncated (compare with max_seq_length)."""
        return len(self._session.counter.encode(text).ids)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """:meth:`count_tokens` of each text, in one call (the tokenizer encodes them in parallel)."""
        return [len(e.ids) for e in self._session.counter.encode_batch(texts)]


def hosted_embedder(host: ModelHost, folder: Path) -> Embedder:
    """The embedder in ``folder`` as loaded by the process's model host (call inside a ``host.submit`` job): the
    window's retrieval and the API's ``/v1/embeddings`` share one session."""
    def need() -> int:  # only when it is not loaded yet: retrieval asks for the embedder on every question
        return int(sum(f.stat().st_size for f in Path(folder).glob("*.onnx*") if f.is_file()) * LOAD_OVERHEAD)

    return host.get(("embedder", str(folder)), Path(folder).name, need, lambda: Embedder(folder))


class TextEmbedder(Protocol):
    """What indexing and retrieval need from an embedder: :class:`Embedder` itself, or :class:`HostedEmbedder`
    (the same model, run by the process's model host)."""

    @property
    def identity(self) -> str: ...

    @property
    def dims(self) -> int: ...

    @property
    def max_seq_length(self) -> int: ...

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...

    def count_tokens_batch(self, texts: list[str]) -> list[int]: ...


class HostedEmbedder:
    """The embedder in ``folder`` used from any thread (the documents indexer's): its session belongs to the
    model host, every batch runs as a host job, and idle unload or eviction frees it as for any other model (the
    next batch loads it again). Only its tokenizer stays here, to count tokens while chunking.

    ``cancel`` aborts a wait for the host (a long chat reply holds it) with :class:`Cancelled`."""

    def __init__(self, host: ModelHost, folder: Path, cancel: CancelToken | None = None) -> None:
        from tokenizers import Tokenizer

        self.host, self.folder, self.cancel = host, Path(folder), cancel
        probe = self._run(lambda e: (e.identity, e.dims, e.max_seq_length))
        self._identity, self._dims, self._max_seq_length = probe
        self._counter = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        self._counter.no_padding()
        self._counter.no_truncation()

    @property
    def identity(self) -> str:
        """See :attr:`Embedder.identity`."""
        return self._identity

    @property
    def dims(self) -> int:
        """Length of each vector."""
        return self._dims

    @property
    def max_seq_length(self) -> int:
        """Tokens the model reads per text."""
        return self._max_seq_length

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """See :meth:`Embedder.embed_queries`; runs on the host's thread."""
        texts = list(texts)
        return self._run(lambda e: e.embed_queries(texts, batch_size))

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """See :meth:`Embedder.embed_passages`; runs on the host's thread."""
        texts = list(texts)
        return self._run(lambda e: e.embed_passages(texts, batch_size))

    def count_tokens(self, text: str) -> int:
        """See :meth:`Embedder.count_tokens` (here, on the caller's thread)."""
        return len(self._counter.encode(text).ids)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        """See :meth:`Embedder.count_tokens_batch` (here, on the caller's thread)."""
        return [len(e.ids) for e in self._counter.encode_batch(texts)]

    def _run(self, work: Callable[[Embedder], T]) -> T:
        future = self.host.submit(lambda: work(hosted_embedder(self.host, self.folder)))
        while True:
            try:
                return future.result(timeout=0.2)
            except FutureTimeout:
                if self.cancel is not None and self.cancel.cancelled:
                    future.cancel()
                    raise Cancelled("Embedding") from None
