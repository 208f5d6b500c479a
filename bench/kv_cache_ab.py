"""A/B of the KV cache's precision for one decode step of GroupQueryAttention on the CPU (issue 16).

Builds graphs of ``--layers`` GroupQueryAttention nodes of the DeepSeek-R1-Distill-Qwen-1.5B attention shape
(12 query heads, 2 KV heads, head dim 128, packed QKV, rotary inside, as engine/models/convert/decoder_graph.py
writes them) with three caches: fp32, int8 per-channel and int8 per-tensor (ORT's quantized-KV path,
``k_quant_type``/``v_quant_type``, ``kv_cache_bit_width=8``, scales as inputs 12/13). Each cache is one preallocated
buffer bound as both past and present with I/O binding, as engine/runtime/session.py binds it, filled with random
values (the time does not depend on them) up to the context; one step decodes one token at that context.

The variants are interleaved and the rounds repeated, so a busy machine slows them alike; the table gives the
median ms per step per layer, and the ratio int8 / fp32 of the medians per round (its median and quartiles).

    .venv/bin/python bench/kv_cache_ab.py --contexts 128 1024 4096 16384 --threads 2 --rounds 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

HEADS, KV_HEADS, HEAD_DIM = 12, 2, 128
VARIANTS = {"fp32": (np.float32, TensorProto.FLOAT, None), "int8-ch": (np.int8, TensorProto.INT8, "PER_CHANNEL"),
            "int8-tensor": (np.int8, TensorProto.INT8, "PER_TENSOR")}


def build(layers: int, capacity: int, variant: str) -> bytes:
    """A graph of ``layers`` GQA nodes over one packed-QKV input, each with its own cache of ``capacity`` rows."""
    _, elem, quant = VARIANTS[variant]
    width = (HEADS + 2 * KV_HEADS) * HEAD_DIM
    inputs = [helper.make_tensor_value_info("qkv", TensorProto.FLOAT, [1, "S", width]),
              helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]),
              helper.make_tensor_value_info("total", TensorProto.INT32, [])]
    half = HEAD_DIM // 2
    angles = np.outer(np.arange(capacity + 1), 1.0 / 10000 ** (np.arange(half) / half))
    inits = [helper.make_tensor("cos", TensorProto.FLOAT, angles.shape, np.cos(angles).astype(np.float32).ravel()),
             helper.make_tensor("sin", TensorProto.FLOAT, angles.shape, np.sin(angles).astype(np.float32).ravel())]
    outputs, nodes = [], []
    for i in range(layers):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past.{i}.{kind}", elem, [1, KV_HEADS, "P", HEAD_DIM]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", elem, None))
        outputs.append(helper.make_tensor_value_info(f"out.{i}", TensorProto.FLOAT, [1, "S", HEADS * HEAD_DIM]))
        ins = ["qkv", "", "", f"past.{i}.key", f"past.{i}.value", "seqlens_k", "total", "cos", "sin"]
        attrs: dict[str, object] = dict(num_heads=HEADS, kv_num_heads=KV_HEADS, do_rotary=1, rotary_interleaved=0,
                                        scale=float(1 / np.sqrt(HEAD_DIM)), local_window_size=-1)
        if quant:
            n = KV_HEADS * HEAD_DIM if quant == "PER_CHANNEL" else 1
            ins += ["", "", "", f"k_scale.{i}", f"v_scale.{i}"]
            inits += [helper.make_tensor(f"{k}_scale.{i}", TensorProto.FLOAT, [n], np.full(n, 0.02, np.float32))
                      for k in "kv"]
            attrs |= dict(k_quant_type=quant, v_quant_type=quant, kv_cache_bit_width=8)
        nodes.append(helper.make_node("GroupQueryAttention", ins, [f"out.{i}", f"present.{i}.key",
                                                                   f"present.{i}.value"],
                                      domain="com.microsoft", name=f"gqa.{i}", **attrs))
    graph = helper.make_graph(nodes, "kv_ab", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                    helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


HIDDEN, INTERMEDIATE, VOCAB = 1536, 8960, 151936


def _nbits(x: str, name: str, n: int, k: int,
           rng: np.random.Generator) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    blocks = k // 128
    weights = [helper.make_tensor(f"{name}.q4", TensorProto.UINT8, [n, blocks, 64],
                                  rng.integers(0, 255, (n, blocks, 64), dtype=np.uint8).tobytes(), raw=True),
               helper.make_tensor(f"{name}.scales", TensorProto.FLOAT, [n * blocks],
                                  np.full(n * blocks, 0.01, np.float32))]
    node = helper.make_node("MatMulNBits", [x, f"{name}.q4", f"{name}.scales"], [name], domain="com.microsoft",
                            K=k, N=n, bits=4, block_size=128, accuracy_level=4)
    return node, weights


def build_rest(lm_head: bool) -> bytes:
    """The rest of a decode step of the 1.5B shape as int4 MatMulNBits: one layer's projections (qkv, o, gate_up,
    down), or the lm_head."""
    rng = np.random.default_rng(1)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, HIDDEN])
    wide = helper.make_tensor_value_info("wide", TensorProto.FLOAT, [1, 1, INTERMEDIATE])
    shapes = ([("lm_head", "x", VOCAB, HIDDEN)] if lm_head else
              [("qkv", "x", (HEADS + 2 * KV_HEADS) * HEAD_DIM, HIDDEN), ("o", "x", HIDDEN, HIDDEN),
               ("gate_up", "x", 2 * INTERMEDIATE, HIDDEN), ("down", "wide", HIDDEN, INTERMEDIATE)])
    nodes, inits, outputs = [], [], []
    for name, src, n, k in shapes:
        node, weights = _nbits(src, name, n, k, rng)
        nodes.append(node)
        inits += weights
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "rest", [x] if lm_head else [x, wide], outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                   helper.make_opsetid("com.microsoft", 1)]).SerializeToString()


class Rest:
    """The int4 weights' part of a decode step, timed like :class:`Step`."""

    def __init__(self, lm_head: bool, threads: int) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(build_rest(lm_head), so, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(2)
        self.feeds = {"x": rng.standard_normal((1, 1, HIDDEN), dtype=np.float32)}
        if not lm_head:
            self.feeds["wide"] = rng.standard_normal((1, 1, INTERMEDIATE), dtype=np.float32)

    def time(self, repeats: int) -> float:
        """Seconds of the fastest of ``repeats`` runs."""
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            self.session.run(None, self.feeds)
            best = min(best, time.perf_counter() - start)
        return best


class Step:
    """One variant's session with its caches filled to ``context`` rows and bound in place."""

    def __init__(self, variant: str, layers: int, context: int, threads: int) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(build(layers, context + 1, variant), so,
                                            providers=["CPUExecutionProvider"])
        dtype = VARIANTS[variant][0]
        rng = np.random.default_rng(0)
        self._keep = []
        self.binding = self.session.io_binding()
        for i in range(layers):
            for kind in ("key", "value"):
                shape = (1, KV_HEADS, context + 1, HEAD_DIM)
                if dtype == np.int8:
                    buf = rng.integers(-100, 100, shape, dtype=np.int8)
                else:
                    buf = rng.standard_normal(shape, dtype=np.float32)
                value = ort.OrtValue.ortvalue_from_numpy(buf)
                self._keep.append((buf, value))
                self.binding.bind_ortvalue_input(f"past.{i}.{kind}", value)
                self.binding.bind_ortvalue_output(f"present.{i}.{kind}", value)
            self.binding.bind_output(f"out.{i}", "cpu")
        self.binding.bind_cpu_input("qkv", rng.standard_normal((1, 1, (HEADS + 2 * KV_HEADS) * HEAD_DIM),
                                                               dtype=np.float32))
        self.binding.bind_cpu_input("seqlens_k", np.array([context], np.int32))
        self.binding.bind_cpu_input("total", np.array(context + 1, np.int32))

    def time(self, repeats: int) -> float:
        """Seconds of the fastest of ``repeats`` steps (the step least disturbed by other processes)."""
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            self.session.run_with_iobinding(self.binding)
            best = min(best, time.perf_counter() - start)
        return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contexts", type=int, nargs="+", default=[128, 1024, 4096, 16384])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=4, help="GQA nodes per graph (one step runs them all)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5, help="steps per variant per round (the fastest counts)")
    parser.add_argument("--model-layers", type=int, default=28, help="layers of the whole model (1.5B: 28)")
    parser.add_argument("--whole-model", action="store_true",
                        help="also time the int4 projections and lm_head of the 1.5B shape for the attention share")
    args = parser.parse_args()
    print(f"onnxruntime {ort.__version__}, {args.threads} threads, {args.layers} GQA nodes per graph, "
          f"{args.rounds} rounds x {args.repeats} steps; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs at start")
    header = (f"{'context':>8} | " + " | ".join(f"{v + ' ms/layer':>20}" for v in VARIANTS)
              + f" | {'int8-ch/fp32 (q1-q3)':>22} | {'int8-t/fp32':>11} | {'fp32 attn ms/tok':>16}")
    rows, model_rows = [], []
    rest = head = None
    if args.whole_model:
        rest, head = Rest(False, args.threads), Rest(True, args.threads)
        rest.time(3)  # warm up
        head.time(3)
    for context in args.contexts:
        rest_times: list[float] = []
        steps = {v: Step(v, args.layers, context, args.threads) for v in VARIANTS}
        for step in steps.values():
            step.time(2)  # warm up
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        order = list(VARIANTS)
        for r in range(args.rounds):
            for v in order if r % 2 == 0 else order[::-1]:
                times[v].append(steps[v].time(args.repeats) / args.layers)
            if rest is not None:
                rest_times.append(rest.time(args.repeats) * args.model_layers + head.time(args.repeats))
        ratio_ch = [a / b for a, b in zip(times["int8-ch"], times["fp32"], strict=True)]
        ratio_t = [a / b for a, b in zip(times["int8-tensor"], times["fp32"], strict=True)]
        q1, _, q3 = statistics.quantiles(ratio_ch, n=4)
        med = {v: statistics.median(t) * 1e3 for v, t in times.items()}
        rows.append(f"{context:>8} | " + " | ".join(f"{med[v]:>20.3f}" for v in VARIANTS)
                    + f" | {statistics.median(ratio_ch):>8.2f} ({q1:.2f}-{q3:.2f}) | "
                      f"{statistics.median(ratio_t):>11.2f} | {med['fp32'] * args.model_layers:>16.1f}")
        print(rows[-1], flush=True)
        if rest_times:
            weights = statistics.median(rest_times) * 1e3
            fp32, int8 = (med[v] * args.model_layers for v in ("fp32", "int8-ch"))
            model_rows.append(f"{context:>8} | {weights:>15.1f} | {fp32:>13.1f} | {fp32 / (fp32 + weights):>14.0%} | "
                              f"{fp32 + weights:>15.1f} | {int8 + weights:>15.1f} | "
                              f"{(int8 + weights) / (fp32 + weights):>10.2f}")
            print(model_rows[-1], flush=True)
        del steps
    print(f"\nload average {os.getloadavg()[0]:.1f} at end\n")
    print(header)
    print("\n".join(rows))
    if model_rows:
        print(f"\nwhole model, {args.model_layers} layers (attention + int4 MatMulNBits projections and lm_head; "
              "norms, embedding and rotary not counted), ms/token:")
        print(f"{'context':>8} | {'int4 weights ms':>15} | {'fp32 attn ms':>13} | {'attention share':>14} | "
              f"{'decode fp32 KV':>15} | {'decode int8 KV':>15} | {'int8/fp32':>10}")
        print("\n".join(model_rows))


if __name__ == "__main__":
    main()
