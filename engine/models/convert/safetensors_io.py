"""Read a checkpoint's safetensors shards one tensor (or a block of its rows) at a time.

The format is a little-endian u64 header length, a JSON header of ``name -> {dtype, shape, data_offsets}``, then
the raw bytes. Nothing here executes code from the file: it is parsed as JSON and viewed as numbers, and every
offset, shape and dtype is checked against the file before a byte is read, so a damaged or hostile shard fails with
a clear error instead of reading out of bounds. No torch: bf16 is widened to fp32 with integer shifts.

Bytes are read with positioned reads, not a memory map: pages of a mapped file that were touched stay in the
process's resident set until the kernel needs them back, so a memory map would make the converter's measured
memory grow with the checkpoint; a read leaves them in the page cache, outside the process.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.system.errors import ConversionError
from engine.system.paths import resolve_inside

MAX_HEADER_BYTES = 100 * 2**20  # the Hub's own limit for a safetensors header
INDEX_FILE = "model.safetensors.index.json"
_DTYPES: dict[str, tuple[np.dtype[Any], int]] = {
    "F32": (np.dtype("<f4"), 4), "F16": (np.dtype("<f2"), 2), "BF16": (np.dtype("<u2"), 2),
    "F64": (np.dtype("<f8"), 8), "I64": (np.dtype("<i8"), 8), "I32": (np.dtype("<i4"), 4),
    "I16": (np.dtype("<i2"), 2), "I8": (np.dtype("i1"), 1), "U8": (np.dtype("u1"), 1), "BOOL": (np.dtype("?"), 1),
}
FLOAT_DTYPES = ("F32", "F16", "BF16")


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives: its shard, dtype, shape and byte range inside the shard's data section."""

    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute offset in the file
    nbytes: int

    @property
    def rows(self) -> int:
        """Length of the first dimension (1 for a scalar)."""
        return self.shape[0] if self.shape else 1


def _bad(path: Path, why: str) -> ConversionError:
    return ConversionError(f"{path.name} is not a valid safetensors file: {why}.",
                           "Download the checkpoint again; if it persists, the repository's weights are damaged.")


def read_header(path: Path) -> dict[str, TensorInfo]:
    """The tensors of one shard, checked against the file's size."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise _bad(path, "it is shorter than its header")
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise _bad(path, f"its header claims {length} bytes")
        try:
            header = json.loads(fh.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _bad(path, f"its header is not JSON ({err})") from err
    if not isinstance(header, dict):
        raise _bad(path, "its header is not an object")
    base = 8 + length
    out: dict[str, TensorInfo] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = str(meta["dtype"]), tuple(int(d) for d in meta["shape"]), meta["data_offsets"]
            begin, end = int(begin), int(end)
        except (KeyError, TypeError, ValueError) as err:
            raise _bad(path, f"tensor {name!r} has a malformed entry") from err
        if dtype not in _DTYPES:
            raise _bad(path, f"tensor {name!r} has unsupported dtype {dtype}")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if any(d < 0 for d in shape) or not 0 <= begin <= end or base + end > size \
                or end - begin != count * _DTYPES[dtype][1]:
            raise _bad(path, f"tensor {name!r} does not fit its byte range")
        out[name] = TensorInfo(name, path, dtype, shape, base + begin, end - begin)
    return out


class CheckpointTensors:
    """Every tensor of a checkpoint folder (one ``model.safetensors`` or shards listed in the index)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        index = folder / INDEX_FILE
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
                files = sorted({str(f) for f in weight_map.values()})
            except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
                raise ConversionError(f"{index.name} cannot be read ({err}).", "Download the checkpoint again.") \
                    from err
            paths = [resolve_inside(folder, f) for f in files]  # a hostile index cannot point outside the folder
        else:
            paths = sorted(folder.glob("*.safetensors"))
        if not paths:
            raise ConversionError(f"{folder} has no *.safetensors weights.", "Download the weights (*.safetensors).")
        self.tensors: dict[str, TensorInfo] = {}
        for path in paths:
            if not path.is_file():
                raise ConversionError(f"{path.name}, listed in {INDEX_FILE}, is missing.",
                                      "Download the checkpoint again.")
            for name, info in read_header(path).items():
                if name in self.tensors:
                    raise _bad(path, f"tensor {name!r} is also in {self.tensors[name].file.name}")
                self.tensors[name] = info

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    def info(self, name: str) -> TensorInfo:
        """The tensor's entry; ConversionError naming it when the checkpoint lacks it."""
        try:
            return self.tensors[name]
        except KeyError:
            raise ConversionError(f"The checkpoint has no tensor {name!r}.",
                                  "It does not match its config.json; download it again or choose another.") from None

    def read(self, name: str, rows: slice | None = None) -> np.ndarray:
        """The tensor (or ``rows`` of its first dimension) as a fresh fp32 array (other dtypes as they are).
        ConversionError when a float weight is NaN or infinite (a damaged download or checkpoint)."""
        info = self.info(name)
        dtype, itemsize = _DTYPES[info.dtype]
        row_elems = int(np.prod(info.shape[1:], dtype=np.int64)) if len(info.shape) > 1 else 1
        first, last = (0, info.rows) if rows is None else rows.indices(info.rows)[:2]
        count = max(0, last - first) * row_elems
        with info.file.open("rb") as fh:
            values = np.fromfile(fh, dtype=dtype, count=count, offset=info.start + first * row_elems * itemsize)
        if values.size != count:
            raise _bad(info.file, f"tensor {name!r} is cut short")
        shape = ((max(0, last - first), *info.shape[1:]) if info.shape else ())
        if info.dtype not in FLOAT_DTYPES:
            return values.reshape(shape)
        if info.dtype == "BF16":
            floats = (values.astype(np.uint32) << 16).view(np.float32)
        else:
            floats = values.astype(np.float32, copy=False)
        if not np.isfinite(floats).all():
            raise ConversionError(f"Tensor {name} contains NaN or infinite values.",
                                  "The checkpoint is damaged; download it again.")
        return floats.reshape(shape)

    def row_blocks(self, name: str, max_bytes: int) -> Iterator[tuple[int, np.ndarray]]:
        """The tensor in blocks of whole rows of at most ``max_bytes`` as fp32: ``(first_row, block)``."""
        info = self.info(name)
        row_bytes = 4 * (int(np.prod(info.shape[1:], dtype=np.int64)) if len(info.shape) > 1 else 1)
        step = max(1, max_bytes // row_bytes)
        for first in range(0, info.rows, step):
            yield first, self.read(name, slice(first, min(info.rows, first + step)))
