"""Write an ONNX graph whose weights go to one external data file as they are produced.

The graph itself (nodes, names, shapes) is a few hundred kilobytes; every weight is appended to
``model.onnx.data`` the moment it is ready and only a reference is kept, so writing a 14B model holds one block of
one tensor in memory at a time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

DATA_FILE = "model.onnx.data"
MODEL_FILE = "model.onnx"
_ALIGN = 4096  # page-aligned tensors: ORT maps them straight from the file
_MS = "com.microsoft"
ONNX_TYPE = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16,
             np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
             np.dtype(np.uint8): TensorProto.UINT8}


class DataFile:
    """Appends arrays to the external data file; each becomes an initializer that points at its bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        self.initializers: list[TensorProto] = []

    def begin(self, name: str, dtype: np.dtype[Any] | type, shape: Sequence[int]) -> _Streamed:
        """Start a tensor written in pieces (row blocks, in order); ``end()`` checks their total size."""
        offset = self._file.tell()
        pad = (-offset) % _ALIGN
        if pad:
            self._file.write(b"\0" * pad)
            offset += pad
        return _Streamed(self, name, np.dtype(dtype), tuple(int(d) for d in shape), offset)

    def add(self, name: str, array: np.ndarray) -> str:
        """Write one whole array as initializer ``name``; returns the name."""
        stream = self.begin(name, array.dtype, array.shape)
        stream.write(array)
        stream.end()
        return name

    def _finish(self, name: str, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int, length: int) -> None:
        tensor = TensorProto()
        tensor.name = name
        tensor.data_type = ONNX_TYPE[dtype]
        tensor.dims.extend(shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.path.name), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(tensor)

    def close(self) -> None:
        """Flush the data to disk."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class _Streamed:
    def __init__(self, data: DataFile, name: str, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int) -> None:
        self._data, self.name, self.dtype, self.shape, self._offset = data, name, dtype, shape, offset
        self._written = 0

    def write(self, block: np.ndarray) -> None:
        chunk = np.ascontiguousarray(block, dtype=self.dtype)
        self._data._file.write(chunk.tobytes())
        self._written += chunk.nbytes

    def end(self) -> str:
        expected = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        if self._written != expected:
            raise ValueError(f"{self.name}: wrote {self._written} bytes, expected {expected}")
        self._data._finish(self.name, self.dtype, self.shape, self._offset, self._written)
        return self.name


class Graph:
    """Nodes with generated names, small constants inline, big weights in the data file."""

    def __init__(self, data: DataFile) -> None:
        self.data = data
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._constants: list[TensorProto] = []
        self._count: dict[str, int] = {}

    def op(self, op_type: str, inputs: Sequence[str], name: str, *, outputs: int | Sequence[str] = 1,
           domain: str = "", **attrs: Any) -> list[str]:
        """Add a node called ``name``; returns its output names (``name/out0``... unless given)."""
        if name in self._count:
            raise ValueError(f"duplicate node name {name}")
        self._count[name] = 1
        outs = [f"{name}/out{i}" for i in range(outputs)] if isinstance(outputs, int) else list(outputs)
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, domain=domain, **attrs))
        return outs

    def one(self, op_type: str, inputs: Sequence[str], name: str, *, domain: str = "", **attrs: Any) -> str:
        """Add a node with one output and return that output's name."""
        return self.op(op_type, inputs, name, domain=domain, **attrs)[0]

    def ms(self, op_type: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        """A com.microsoft contrib op with one output."""
        return self.one(op_type, inputs, name, domain=_MS, **attrs)

    def const(self, name: str, value: np.ndarray) -> str:
        """A small constant stored inside the graph."""
        self._constants.append(helper.make_tensor(name, ONNX_TYPE[value.dtype], value.shape,
                                                  value.flatten().tolist()))
        return name

    def input(self, name: str, elem: int, shape: Sequence[int | str]) -> str:
        """Declare a graph input."""
        self.inputs.append(helper.make_tensor_value_info(name, elem, list(shape)))
        return name

    def output(self, name: str, elem: int, shape: Sequence[int | str]) -> None:
        """Declare a graph output."""
        self.outputs.append(helper.make_tensor_value_info(name, elem, list(shape)))

    def save(self, folder: Path, *, producer: str, metadata: dict[str, str], name: str = "ponder_decoder") -> Path:
        """Write ``model.onnx`` next to the data file (opset 21 plus com.microsoft 1); ``name`` names the graph."""
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs,
                                  initializer=self._constants + self.data.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(_MS, 1)],
                                  producer_name=producer)
        model.ir_version = 10
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        path = folder / MODEL_FILE
        with path.open("wb") as fh:
            fh.write(model.SerializeToString())
            fh.flush()
            os.fsync(fh.fileno())
        return path
