"""``manifest.json``: what an installed model is, where it came from, and how it was built."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from engine._version import __version__
from engine.system.errors import StoreError
from engine.system.verify import file_digests, write_json_atomic

MANIFEST = "manifest.json"
SCHEMA = 1
# Graph forms the runtime knows: Ponder's own converter's (engine.models.convert.options.GRAPH_FORM) and the
# onnxruntime-genai model builder's, which official prebuilt builds use. Both: GroupQueryAttention with the rotary
# embedding inside, MatMulNBits, SkipSimplifiedLayerNormalization; the KV cache can be one preallocated buffer.
GRAPH_GENAI_FUSED = "genai-fused-gqa"
_TOOLS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnx", "numpy")


@dataclass(frozen=True)
class FileEntry:
    """One file of the model with its size and sha256."""

    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """Everything Ponder records about an installed model."""

    name: str
    precision: str
    graph_form: str
    providers: list[str]
    architecture: dict[str, Any]
    source: dict[str, Any]
    files: dict[str, FileEntry]
    quantization: dict[str, Any] = field(default_factory=dict)
    generation: dict[str, Any] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    schema: int = SCHEMA

    @property
    def kv_cache(self) -> str:
        """The KV cache's element type: "float" (the activations' type) or "int8" (calibrated per-channel scales;
        models converted before this was recorded have a float cache)."""
        return str(self.quantization.get("kv_cache", "float"))

    @property
    def size_bytes(self) -> int:
        """Total size of the model's files."""
        return sum(f.size for f in self.files.values())

    def to_json(self) -> str:
        """Serialise (stable key order)."""
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Parse a manifest read from disk, checking the schema."""
        if data.get("schema") != SCHEMA:
            raise StoreError(f"Unsupported manifest schema {data.get('schema')!r}.", "Convert the model again.")
        files = {name: FileEntry(**entry) for name, entry in data["files"].items()}
        return cls(**{**data, "files": files})


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest, _ = file_digests(path, sha256=True, git_sha1=False)
    assert digest is not None
    return digest


def hash_folder(folder: Path) -> dict[str, FileEntry]:
    """Size and sha256 of every file under ``folder`` except the manifest itself (POSIX relative names)."""
    entries = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            entries[rel] = FileEntry(size=path.stat().st_size, sha256=sha256_file(path))
    return entries


def tool_versions() -> dict[str, str]:
    """Versions of Ponder and of the conversion/runtime packages that are installed."""
    versions = {"ponder": __version__}
    for dist in _TOOLS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` atomically (temporary file, fsync, rename)."""
    target = folder / MANIFEST
    write_json_atomic(target, asdict(manifest))
    return target


def read_manifest(folder: Path) -> Manifest:
    """Read a model folder's manifest; StoreError when it is missing or damaged."""
    path = folder / MANIFEST
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as err:
        raise StoreError(f"{folder.name}: no manifest.json (not a finished model).",
                         "Run 'ponder pull' or 'ponder convert' again.") from err
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise StoreError(f"{folder.name}: manifest.json is damaged ({err}).", "Convert the model again.") from err
