"""The decoder graph with logits for the last *n* positions, for verifying drafted tokens (speculative decoding).

Ponder's converter slices the final hidden states to the last position before the vocabulary projection (a 4k
prefill computes one row of logits, not 4k). Verifying k drafted tokens needs a row for each of them, so this module
derives a graph whose slice start is an input, ``logits_start`` (int64 [1]: -n keeps the last n rows, -1 is the
normal form). The derived graph shares the model's weights file (``model.onnx.data``, referenced relatively) and is
written once beside ``model.onnx`` as ``model.rows.onnx`` (the graph alone: kilobytes), rewritten when the model's
graph is newer. Only sessions opened for verification use it; the normal decode path runs ``model.onnx`` unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from engine.system.errors import PonderError

ROWS_INPUT = "logits_start"
ROWS_FILE = "model.rows.onnx"
_SLICE_START = "last_start"  # the converter's constant for the last-row slice (decoder_graph._lm_head)


def rows_graph(model_dir: Path) -> Path:
    """The path of ``model_dir``'s graph with a ``logits_start`` input, writing it first when missing or stale."""
    source, dest = model_dir / "model.onnx", model_dir / ROWS_FILE
    if dest.is_file() and dest.stat().st_mtime >= source.stat().st_mtime:
        return dest
    model = onnx.load(str(source), load_external_data=False)
    graph = model.graph
    slices = [n for n in graph.node if n.op_type == "Slice" and len(n.input) > 1 and n.input[1] == _SLICE_START]
    if len(slices) != 1 or not any(o.name == "logits" for o in graph.output):
        raise PonderError(f"{model_dir.name}'s graph has no last-row slice before its logits, so it cannot verify "
                          "drafted tokens.", "Convert it again with this version of Ponder, or decode without a draft.")
    slices[0].input[1] = ROWS_INPUT
    graph.input.append(helper.make_tensor_value_info(ROWS_INPUT, TensorProto.INT64, [1]))
    logits = next(o for o in graph.output if o.name == "logits")
    rows = logits.type.tensor_type.shape.dim[1]
    rows.ClearField("dim_value")
    rows.dim_param = "logits_rows"
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, dest)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise PonderError(f"Could not write {dest}: {err.strerror or err}.",
                          "Make the model's folder writable, or decode without a draft.") from err
    return dest
