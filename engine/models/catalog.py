"""The curated catalog of models Ponder offers, loaded from ``resources/catalog.json``: chat models
(:class:`CatalogEntry`), embedding models for documents (:class:`EmbedderEntry`) and rerankers for their retrieval
(:class:`RerankerEntry`), all :class:`CatalogItem` — what any model has that Ponder downloads from the Hub."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engine.models.convert.options import CHUNK_BYTES, BuildOptions
from engine.system.errors import CatalogError
from engine.system.paths import check_model_name
from engine.system.resources import resource_path

_T = TypeVar("_T", bound="CatalogItem")
PRECISIONS = ("int4", "fp16", "fp32")
ARCHITECTURES = ("qwen2", "llama", "qwen3")
_OVERHEAD_BYTES = 400 * 2**20  # ORT session, tokenizer, arenas: measured a few hundred MB on the tiny and 1.5B models
# The converter's peak memory beside its weight blocks: Python, ONNX and ORT libraries, the graph, rotary caches.
_CONVERT_OVERHEAD_BYTES = 600 * 2**20
_CONVERT_BLOCKS = 3  # a block of fp32 rows, its transposed copy for the quantizer, and the packed result


@dataclass(frozen=True)
class Architecture:
    """The shape facts of a checkpoint (from its config.json) that sizes and the runtime depend on.
    ``explicit_head_dim`` is config.json's head_dim when it is not hidden / heads (Qwen3-4B), else 0."""

    family: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    vocab_size: int
    context_length: int
    tie_word_embeddings: bool
    explicit_head_dim: int = 0

    @property
    def head_dim(self) -> int:
        """Size of one attention head."""
        return self.explicit_head_dim or self.hidden_size // self.num_heads

    def layer_params(self) -> int:
        """Weights inside the transformer blocks (the MatMuls that int4 quantizes)."""
        h, q, kv = self.hidden_size, self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        attn = 2 * h * q + 2 * h * kv
        mlp = 3 * h * self.intermediate_size
        return self.num_layers * (attn + mlp)

    def embedding_params(self) -> int:
        """Input embedding table size."""
        return self.vocab_size * self.hidden_size

    def total_params(self) -> int:
        """All parameters, counting an untied lm_head once more."""
        head = 0 if self.tie_word_embeddings else self.embedding_params()
        return self.layer_params() + self.embedding_params() + head

    def kv_bytes_per_token(self, precision: str, kv_cache: str = "float") -> int:
        """KV cache bytes per token of context (fp32 cache for int4/fp32 CPU graphs, fp16 otherwise; one byte with
        the int8 cache)."""
        element = 1 if kv_cache == "int8" else 2 if precision == "fp16" else 4
        return self.num_layers * 2 * self.num_kv_heads * self.head_dim * element


def estimate_disk_bytes(arch: Architecture, precision: str) -> int:
    """On-disk size of the converted ONNX model at ``precision`` (the CPU graph for int4 and fp32, the GPU graph for
    fp16), from the converter's default options: layers and embedding at int4, the lm_head at its bit width, a
    tied lm_head sharing the embedding's weights when their widths agree."""
    options = BuildOptions(precision=precision, provider="cuda" if precision == "fp16" else "cpu")
    layer = options.bytes_per_weight(4)
    embed = options.bytes_per_weight(options.embedding_bits)
    head = options.bytes_per_weight(options.lm_head_bits)
    shared = arch.tie_word_embeddings and options.embedding_bits == options.lm_head_bits
    size = arch.layer_params() * layer + arch.embedding_params() * (embed + (0 if shared else head))
    rope = 2 * min(arch.context_length, 131072) * arch.head_dim // 2 * 4
    return int(size) + rope


def estimate_ram_bytes(arch: Architecture, precision: str, context: int = 4096, kv_cache: str = "float") -> int:
    """Memory needed to run at ``precision`` with ``context`` tokens of KV cache (at most the model's own context
    length: the cache grows with the conversation and never past it)."""
    tokens = min(context, arch.context_length)
    return (estimate_disk_bytes(arch, precision) + arch.kv_bytes_per_token(precision, kv_cache) * tokens
            + _OVERHEAD_BYTES)


@dataclass(frozen=True)
class ConversionNeeds:
    """What converting a checkpoint takes: peak memory of the converter and free disk for its output."""

    ram_bytes: int
    disk_bytes: int


def conversion_needs(arch: Architecture, precision: str) -> ConversionNeeds:
    """The converter reads one block of weight rows at a time: its memory does not grow with the model; the disk
    holds the finished model (the download is already there), with 5% to spare."""
    largest_row = max(arch.hidden_size, arch.intermediate_size, arch.num_heads * arch.head_dim) * 4
    block = max(largest_row, min(CHUNK_BYTES, arch.embedding_params() * 4))
    return ConversionNeeds(ram_bytes=_CONVERT_BLOCKS * block + _CONVERT_OVERHEAD_BYTES,
                           disk_bytes=int(estimate_disk_bytes(arch, precision) * 1.05))


@dataclass(frozen=True)
class PrebuiltOnnx:
    """An official prebuilt ONNX variant that lets Ponder skip conversion."""

    repo_id: str
    revision: str
    subfolder: str
    precision: str
    providers: tuple[str, ...]


@dataclass(frozen=True)
class Sampling:
    """Recommended sampling defaults for a model."""

    temperature: float
    top_p: float
    top_k: int = 0
    repetition_penalty: float = 1.0


@dataclass(frozen=True)
class Needs:
    """Disk and memory one precision needs."""

    disk_bytes: int
    ram_bytes: int
    vram_bytes: int


@dataclass(frozen=True, kw_only=True)
class CatalogItem:
    """What every model of the catalog has: its id (also its folder name), where it comes from on the Hub and what
    getting it costs."""

    id: str
    name: str
    repo_id: str
    revision: str
    license: str
    params: int
    download_bytes: int
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class CatalogEntry(CatalogItem):
    """One chat model Ponder offers."""

    architecture: Architecture
    reasoning: bool
    sampling: Sampling
    needs: dict[str, Needs]
    prebuilt: tuple[PrebuiltOnnx, ...] = field(default=())
    build_note: str = ""  # why each provider gets the official prebuilt build or a conversion here (measured)

    def prebuilt_for(self, precision: str, provider: str) -> PrebuiltOnnx | None:
        """An official ONNX build for this precision and provider, if the catalog lists one."""
        for item in self.prebuilt:
            if item.precision == precision and provider in item.providers:
                return item
        return None


def _entry(raw: dict[str, Any]) -> CatalogEntry:
    try:
        arch = Architecture(**raw["architecture"])
        if arch.family not in ARCHITECTURES:
            raise CatalogError(f"Catalog entry {raw['id']!r} has unsupported architecture {arch.family!r}.")
        needs = {p: Needs(**n) for p, n in raw["needs"].items()}
        prebuilt = tuple(
            PrebuiltOnnx(**{**p, "providers": tuple(p["providers"])}) for p in raw.get("prebuilt", [])
        )
        return CatalogEntry(
            id=raw["id"], name=raw["name"], repo_id=raw["repo_id"], revision=raw["revision"],
            license=raw["license"], params=int(raw["params"]), architecture=arch, reasoning=bool(raw["reasoning"]),
            download_bytes=int(raw["download_bytes"]), sampling=Sampling(**raw["sampling"]), needs=needs,
            prebuilt=prebuilt, description=raw.get("description", ""), build_note=raw.get("build_note", ""),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CatalogError(f"Catalog entry {raw.get('id', '?')!r} is invalid: {err}.",
                           "Reinstall Ponder; the catalog file is damaged.") from err


@dataclass(frozen=True, kw_only=True)
class EmbedderEntry(CatalogItem):
    """One embedding model Ponder offers for documents."""

    dims: int
    max_tokens: int
    languages: str
    query_prefix: str = ""
    passage_prefix: str = ""
    default: bool = False


@dataclass(frozen=True, kw_only=True)
class RerankerEntry(CatalogItem):
    """One cross-encoder Ponder offers to rerank retrieved passages. ``default`` marks the one
    ``ponder docs reranker --get`` downloads when none is named; reranking stays off until one is chosen."""

    max_tokens: int
    languages: str
    default: bool = False


def _read_catalog(path: Path | None) -> tuple[Path, dict[str, Any]]:
    env = os.environ.get("PONDER_CATALOG")
    path = path or (Path(env) if env else resource_path("catalog.json"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CatalogError(f"Cannot read the model catalog {path}: {err}.", "Reinstall Ponder.") from err
    if not isinstance(data, dict):
        raise CatalogError(f"The model catalog {path} is not a JSON object.", "Reinstall Ponder.")
    return path, data


def _checked(entries: list[_T], what: str) -> list[_T]:
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        raise CatalogError(f"The catalog's {what} have duplicate ids.", "Reinstall Ponder.")
    for e in entries:
        check_model_name(e.id)  # ids become folder names
    return entries


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """Read and validate the catalog's chat models: ``path``, else ``$PONDER_CATALOG``, else
    ``resources/catalog.json``."""
    _, data = _read_catalog(path)
    return _checked([_entry(raw) for raw in data.get("models", [])], "models")


def load_embedders(path: Path | None = None) -> list[EmbedderEntry]:
    """The catalog's embedding models (same file as :func:`load_catalog`), the default first."""
    path, data = _read_catalog(path)
    try:
        entries = [EmbedderEntry(**raw) for raw in data.get("embedders", [])]
    except TypeError as err:
        raise CatalogError(f"The embedders of the catalog {path} are invalid: {err}.", "Reinstall Ponder.") from err
    return sorted(_checked(entries, "embedders"), key=lambda e: not e.default)


def find_embedder(embedder_id: str | None = None) -> EmbedderEntry:
    """A catalog embedder by id or repository id; the default one when ``embedder_id`` is None."""
    entries = load_embedders()
    for e in entries:
        if (embedder_id is None and e.default) or (embedder_id and embedder_id.lower() in (e.id, e.repo_id.lower())):
            return e
    raise CatalogError(f"Unknown embedding model {embedder_id!r}.",
                       "Choose one of: " + ", ".join(e.id for e in entries) + ".")


def load_rerankers(path: Path | None = None) -> list[RerankerEntry]:
    """The catalog's rerankers (same file as :func:`load_catalog`), the default first."""
    path, data = _read_catalog(path)
    try:
        entries = [RerankerEntry(**raw) for raw in data.get("rerankers", [])]
    except TypeError as err:
        raise CatalogError(f"The rerankers of the catalog {path} are invalid: {err}.", "Reinstall Ponder.") from err
    return sorted(_checked(entries, "rerankers"), key=lambda e: not e.default)


def find_reranker(reranker_id: str | None = None) -> RerankerEntry:
    """A catalog reranker by id or repository id; the default one when ``reranker_id`` is None."""
    entries = load_rerankers()
    for e in entries:
        if (reranker_id is None and e.default) or (reranker_id and reranker_id.lower() in (e.id, e.repo_id.lower())):
            return e
    raise CatalogError(f"Unknown reranker {reranker_id!r}.",
                       "Choose one of: " + ", ".join(e.id for e in entries) + ".")


def find_entry(model: str, catalog: list[CatalogEntry] | None = None) -> CatalogEntry:
    """Find a catalog entry by id, Hub repo id or name (case-insensitive)."""
    catalog = catalog if catalog is not None else load_catalog()
    key = model.lower()
    for entry in catalog:
        if key in (entry.id.lower(), entry.repo_id.lower(), entry.name.lower()):
            return entry
    known = ", ".join(e.id for e in catalog)
    raise CatalogError(f"Unknown model {model!r}.", f"Choose one of: {known}; a Hugging Face repository as "
                       "owner/name; or use 'ponder convert PATH'.")
