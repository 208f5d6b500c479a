"""An int8 KV cache for the CPU: calibrate per-channel scales on the float-cache graph, then write its int8 form.

ONNX Runtime's CPU GroupQueryAttention keeps a quantized cache when its node says so (``k_quant_type`` and
``v_quant_type`` PER_CHANNEL, ``kv_cache_bit_width`` 8, the scales as inputs 12 and 13): it quantizes each new row
on write (symmetric, no zero point) and reads the cache with AVX2/AVX-512 fused dequantize-dot kernels, a quarter
of the float cache's bytes (bench/kv_cache_ab.py measures the step). The scales are static, so they come from a
calibration run: the float-cache graph prefills a short built-in text (English, Chinese and code) and the present
buffers give each channel's largest magnitude.

- V: the largest |v| of each channel, times a margin for content the text did not show.
- K is cached after the rotary embedding, which rotates channel pairs (j, j + head_dim/2) of every head by an angle
  that grows with the position. A pair's norm does not change under rotation, so the largest norm of each pair
  over the calibration bounds both channels at every position, including positions far past the text (the "pair
  envelope" of onnxruntime-genai's kv_cache_calibration.py). The same margin applies.

Only the small graph proto changes: the int8 form reads the same ``model.onnx.data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from engine.system.errors import ConversionError

KV_INT8_GRAPH = "model.kv_int8.onnx"
MARGIN = 1.5  # tiny models, teacher-forced agreement: 1.0 -> 0.94-0.95, 1.25 -> 0.95-0.99, 1.5 -> 0.97-1.0
MAX_CALIBRATION_TOKENS = 1024  # one prefill: its attention's memory grows with the square
_QMAX = 127.0
_GQA_SCALE_INPUTS = 12  # k_scale, v_scale are inputs 12 and 13 (9-11: position_ids, attention_bias, head_sink)

CALIBRATION_TEXT = """\
The committee met on Tuesday to review the budget for next year. After a long discussion about rising costs,
the members agreed to postpone the new library until the spring, when the figures will be clearer. "We cannot
promise what we cannot pay for," said the chair, who asked every department to send its estimates by March 3.
Question: a train leaves at 9:40 and travels 215 km at 86 km/h. When does it arrive? Let me think step by step.
215 / 86 = 2.5 hours, so it arrives at 12:10.

今天下午我们在公园里散步，看见很多孩子在放风筝。天气很好，阳光明媚，微风吹过湖面。老师说，学习一门语言最重要的是每天坚持练习，
不要害怕犯错误。请用三句话总结这篇文章的主要内容，并说明作者的观点。人工智能的发展给社会带来了机遇，也带来了新的挑战。

def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    \"\"\"Merge overlapping closed intervals.\"\"\"
    result: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result

SELECT name, COUNT(*) AS orders FROM customers JOIN orders ON orders.customer_id = customers.id
GROUP BY name HAVING COUNT(*) > 3 ORDER BY orders DESC;  -- {"status": 200, "items": [1, 2, 3]}
"""


@dataclass(frozen=True)
class KVScales:
    """Per-layer int8 scales, each ``[kv_heads * head_dim]`` (head-major, as GroupQueryAttention indexes them)."""

    key: list[np.ndarray]
    value: list[np.ndarray]
    tokens: int
    margin: float

    def record(self) -> dict[str, object]:
        """What the manifest keeps about the calibration."""
        return {"kv_cache": "int8", "kv_quant": "PER_CHANNEL", "kv_calibration_tokens": self.tokens,
                "kv_calibration_margin": self.margin, "kv_calibration": "absmax, rotary pair envelope for K"}


def calibration_tokens(tokenizer_json: Path) -> list[int]:
    """The built-in calibration text in the checkpoint's tokens."""
    from tokenizers import Tokenizer

    if not tokenizer_json.is_file():
        raise ConversionError("An int8 KV cache is calibrated on text, and this checkpoint has no tokenizer.json.",
                              "Convert with the float KV cache, or add the model's tokenizer.json.")
    return list(Tokenizer.from_file(str(tokenizer_json)).encode(CALIBRATION_TEXT).ids)


def _pair_envelope(k: np.ndarray) -> np.ndarray:
    """``k`` [heads, tokens, head_dim] -> [heads, head_dim]: the largest norm of each rotary pair, for both."""
    half = k.shape[-1] // 2
    norm = np.sqrt(np.square(k[..., :half]) + np.square(k[..., half:2 * half])).max(axis=1)
    env = np.concatenate([norm, norm], axis=-1)
    if k.shape[-1] % 2:  # an odd channel out of every pair: its own largest magnitude
        env = np.concatenate([env, np.abs(k[..., -1:]).max(axis=1)], axis=-1)
    return env


def _scale(threshold: np.ndarray, margin: float) -> np.ndarray:
    top = float(threshold.max())
    floor = max(top * 1e-3, 1e-6)  # a channel that stayed zero still gets a usable step
    return (np.maximum(threshold * margin, floor) / _QMAX).astype(np.float32).reshape(-1)


def calibrate(model: Path, tokens: list[int], margin: float = MARGIN, threads: int | None = None) -> KVScales:
    """Run the float-cache graph ``model`` over ``tokens`` in one prefill and derive the int8 scales."""
    if len(tokens) < 16:
        raise ConversionError(f"The calibration text is only {len(tokens)} tokens.", "Use a longer text.")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    feeds: dict[str, np.ndarray] = {"input_ids": np.asarray([tokens], np.int64),
                                    "attention_mask": np.ones((1, len(tokens)), np.int64)}
    for inp in session.get_inputs():
        if inp.name.startswith("past_key_values."):
            if inp.type != "tensor(float)":
                raise ConversionError(f"Calibration needs the float32-cache graph; {inp.name} is {inp.type}.",
                                      "Convert for the CPU with the float cache first.")
            feeds[inp.name] = np.zeros((1, int(inp.shape[1]), 0, int(inp.shape[3])), np.float32)
    names = [o.name for o in session.get_outputs() if o.name.startswith("present.")]
    outputs = dict(zip(names, session.run(names, feeds), strict=True))
    layers = len(names) // 2
    keys = [_scale(_pair_envelope(outputs[f"present.{i}.key"][0]), margin) for i in range(layers)]
    values = [_scale(np.abs(outputs[f"present.{i}.value"][0]).max(axis=1), margin) for i in range(layers)]
    return KVScales(key=keys, value=values, tokens=len(tokens), margin=margin)


def write_int8_cache_graph(src: Path, dst: Path, scales: KVScales) -> Path:
    """Write ``dst``, the graph ``src`` with an int8 per-channel KV cache (same folder: it shares the weights)."""
    if src.parent != dst.parent:
        raise ValueError("the int8-cache graph must sit beside the graph it derives from (shared weights file)")
    model = onnx.load(str(src), load_external_data=False)
    graph = model.graph
    for value in [*graph.input, *graph.output]:
        if value.name.startswith(("past_key_values.", "present.")):
            value.type.tensor_type.elem_type = TensorProto.INT8
    gqa = [n for n in graph.node if n.op_type == "GroupQueryAttention"]
    if len(gqa) != len(scales.key):
        raise ConversionError(f"{src.name} has {len(gqa)} attention layers and the calibration {len(scales.key)}.",
                              "Convert the model again.")
    for node in gqa:
        layer = int(node.input[3].split(".")[1])  # past_key_values.<layer>.key
        inputs = list(node.input) + [""] * max(0, _GQA_SCALE_INPUTS - len(node.input))
        k_name, v_name = f"kv_cache.{layer}.k_scale", f"kv_cache.{layer}.v_scale"
        del node.input[:]
        node.input.extend([*inputs[:_GQA_SCALE_INPUTS], k_name, v_name])
        graph.initializer.extend([numpy_helper.from_array(scales.key[layer], k_name),
                                  numpy_helper.from_array(scales.value[layer], v_name)])
        node.attribute.extend([helper.make_attribute("k_quant_type", "PER_CHANNEL"),
                               helper.make_attribute("v_quant_type", "PER_CHANNEL"),
                               helper.make_attribute("kv_cache_bit_width", 8)])
    tmp = dst.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(dst)
    return dst


def convert_kv_int8(graph_dir: Path, tokenizer_json: Path, context: int, margin: float = MARGIN) -> KVScales:
    """Calibrate ``graph_dir/model.onnx`` (float cache, a model of ``context`` positions) and write
    ``graph_dir/KV_INT8_GRAPH`` beside it."""
    tokens = calibration_tokens(tokenizer_json)[:min(context, MAX_CALIBRATION_TOKENS)]
    scales = calibrate(graph_dir / "model.onnx", tokens, margin)
    write_int8_cache_graph(graph_dir / "model.onnx", graph_dir / KV_INT8_GRAPH, scales)
    return scales
