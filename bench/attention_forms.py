"""Is there a faster CPU attention than GroupQueryAttention for decoding at long context? (issue 16)

GroupQueryAttention's CPU decode path runs each query head on its own, so the six query heads of a KV group read
the same keys and values six times, in loops compiled without AVX2/FMA. This times one decode step per layer of
the DeepSeek-R1-Distill-Qwen-1.5B attention shape (12 query heads, 2 KV heads, head dim 128, fp32 cache) in three
forms, interleaved in rounds so a busy machine slows them alike:

- ``gqa``: GroupQueryAttention with past and present sharing one buffer, as Ponder's graphs run it today;
- ``mm-transB``: standard ops that read each KV head once for its whole group: FusedMatMul(q, K, transB) for the
  scores, Softmax, MatMul(p, V) (MLAS SGEMM, AVX2/FMA); the new token's key and value are a second, one-column
  product, so the cache is only read (the host would write the new row), passed whole with a -inf bias past the
  filled rows (capacity in steps of 256);
- ``mm-kq``: the same with the products turned around so the big operand streams as MLAS's A matrix: scores^T =
  K x q^T and out^T = V^T x p^T, with the value cache stored transposed.

    .venv/bin/python bench/attention_forms.py --contexts 128 1024 4096 16384 --rounds 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).parent))
from kv_cache_ab import HEAD_DIM, HEADS, KV_HEADS, Step

GROUP = HEADS // KV_HEADS
F = TensorProto.FLOAT


def _i64(name: str, values: list[int]) -> TensorProto:
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def build(layers: int, form: str) -> bytes:
    """``layers`` attention steps over one query, each with its own cache inputs."""
    kq = form == "mm-kq"
    inputs = [helper.make_tensor_value_info("q", F, [1, 1, HEADS * HEAD_DIM]),
              helper.make_tensor_value_info("knew", F, [KV_HEADS, 1, HEAD_DIM]),
              helper.make_tensor_value_info("vnew", F, [KV_HEADS, HEAD_DIM, 1] if kq else [KV_HEADS, 1, HEAD_DIM]),
              helper.make_tensor_value_info("bias", F, ["C", 1] if kq else ["C"])]
    inits = [_i64("qshape", [KV_HEADS, GROUP, HEAD_DIM]), _i64("oshape", [1, 1, HEADS * HEAD_DIM]),
             _i64("neg1", [-1]), _i64("zero", [0]), _i64("big", [2**62]), _i64("axis", [1 if kq else -1]),
             helper.make_tensor("scale", F, [], [float(1 / np.sqrt(HEAD_DIM))])]
    nodes = [helper.make_node("Mul", ["q", "scale"], ["qs"]), helper.make_node("Reshape", ["qs", "qshape"], ["q3"]),
             helper.make_node("Transpose", ["q3"], ["qT"], perm=[0, 2, 1])]
    outputs = []
    for i in range(layers):
        k, v, p = f"past.{i}.key", f"past.{i}.value", f"l{i}."
        inputs += [helper.make_tensor_value_info(k, F, [KV_HEADS, "C", HEAD_DIM]),
                   helper.make_tensor_value_info(v, F, [KV_HEADS, HEAD_DIM, "C"] if kq else [KV_HEADS, "C", HEAD_DIM])]
        if kq:
            nodes += [helper.make_node("MatMul", [k, "qT"], [p + "sp"]),
                      helper.make_node("MatMul", ["knew", "qT"], [p + "sn"])]
        else:
            nodes += [helper.make_node("FusedMatMul", ["q3", k], [p + "sp"], domain="com.microsoft", transB=1),
                      helper.make_node("FusedMatMul", ["q3", "knew"], [p + "sn"], domain="com.microsoft", transB=1)]
        nodes += [helper.make_node("Add", [p + "sp", "bias"], [p + "spb"]),
                  helper.make_node("Concat", [p + "spb", p + "sn"], [p + "s"], axis=1 if kq else -1),
                  helper.make_node("Softmax", [p + "s"], [p + "pr"], axis=1 if kq else -1),
                  helper.make_node("Slice", [p + "pr", "zero", "neg1", "axis"], [p + "pp"]),
                  helper.make_node("Slice", [p + "pr", "neg1", "big", "axis"], [p + "pn"])]
        if kq:
            nodes += [helper.make_node("MatMul", [v, p + "pp"], [p + "op"]),
                      helper.make_node("MatMul", ["vnew", p + "pn"], [p + "on"]),
                      helper.make_node("Add", [p + "op", p + "on"], [p + "oT"]),
                      helper.make_node("Transpose", [p + "oT"], [p + "o"], perm=[0, 2, 1])]
        else:
            nodes += [helper.make_node("MatMul", [p + "pp", v], [p + "op"]),
                      helper.make_node("MatMul", [p + "pn", "vnew"], [p + "on"]),
                      helper.make_node("Add", [p + "op", p + "on"], [p + "o"])]
        nodes.append(helper.make_node("Reshape", [p + "o", "oshape"], [f"out.{i}"]))
        outputs.append(helper.make_tensor_value_info(f"out.{i}", F, None))
    graph = helper.make_graph(nodes, form, inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                   helper.make_opsetid("com.microsoft", 1)]).SerializeToString()


class MatMulStep:
    """One form's session with caches of ``context`` filled rows (capacity rounded up to 256), bound once."""

    def __init__(self, form: str, layers: int, context: int, threads: int) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.log_severity_level = 3
        self.session = ort.InferenceSession(build(layers, form), so, providers=["CPUExecutionProvider"])
        kq = form == "mm-kq"
        cap = -(-context // 256) * 256
        rng = np.random.default_rng(0)
        bias = np.zeros((cap, 1) if kq else cap, np.float32)
        bias[context:] = -np.inf
        self.binding, self._keep = self.session.io_binding(), [bias]
        for i in range(layers):
            for kind, shape in (("key", (KV_HEADS, cap, HEAD_DIM)),
                                ("value", (KV_HEADS, HEAD_DIM, cap) if kq else (KV_HEADS, cap, HEAD_DIM))):
                self._keep.append(rng.standard_normal(shape, dtype=np.float32))
                self.binding.bind_cpu_input(f"past.{i}.{kind}", self._keep[-1])
            self.binding.bind_output(f"out.{i}", "cpu")
        feeds = {"q": (1, 1, HEADS * HEAD_DIM), "knew": (KV_HEADS, 1, HEAD_DIM),
                 "vnew": (KV_HEADS, HEAD_DIM, 1) if kq else (KV_HEADS, 1, HEAD_DIM)}
        for name, shape in feeds.items():
            self._keep.append(rng.standard_normal(shape, dtype=np.float32))
            self.binding.bind_cpu_input(name, self._keep[-1])
        self.binding.bind_cpu_input("bias", bias)

    def time(self, repeats: int) -> float:
        """Seconds of the fastest of ``repeats`` steps."""
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
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"onnxruntime {ort.__version__}, {args.threads} threads, {args.layers} layers per graph, load average "
          f"{os.getloadavg()[0]:.1f} at start; median ms per layer per decode step")
    print(f"{'context':>8} | {'gqa':>8} | {'mm-transB':>9} | {'mm-kq':>8} | {'transB/gqa':>10} | {'kq/gqa':>7}")
    for context in args.contexts:
        steps = {"gqa": Step("fp32", args.layers, context, args.threads),
                 **{f: MatMulStep(f, args.layers, context, args.threads) for f in ("mm-transB", "mm-kq")}}
        times: dict[str, list[float]] = {f: [] for f in steps}
        for step in steps.values():
            step.time(2)
        for r in range(args.rounds):
            for form in (list(steps) if r % 2 == 0 else list(steps)[::-1]):
                times[form].append(steps[form].time(args.repeats) / args.layers)
        med = {f: statistics.median(t) * 1e3 for f, t in times.items()}
        print(f"{context:>8} | {med['gqa']:>8.3f} | {med['mm-transB']:>9.3f} | {med['mm-kq']:>8.3f} | "
              f"{med['mm-transB'] / med['gqa']:>10.2f} | {med['mm-kq'] / med['gqa']:>7.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
