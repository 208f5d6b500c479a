"""Write the fused decoder graph of a Qwen2 / Llama 3 / Qwen3 checkpoint, one weight at a time.

The graph (ONNX Runtime contrib ops, the form the runtime's KV session drives):

- inputs ``input_ids`` [batch, seq], ``attention_mask`` [batch, total] and ``past_key_values.N.key|value``
  [batch, kv_heads, past, head_dim]; outputs ``logits`` [batch, 1, vocab] (the last position only: a prefill of
  4k tokens computes one row of vocabulary logits, not 4k) and ``present.N.key|value``. With past and present
  bound to one preallocated buffer, GroupQueryAttention writes the new entries in place.
- per layer: SkipSimplifiedLayerNormalization (the residual add inside), q/k/v as one MatMulNBits (their rows
  written one after another), GroupQueryAttention with the rotary embedding inside (cos/sin caches computed here
  with the model's rope scaling), o_proj, gate and up as one MatMulNBits, SiLU, down.
- Qwen3: RMS norm of each head's q and k (SimplifiedLayerNormalization on [.., heads, head_dim]) between the
  projection and attention.
- the embedding table quantized like the layers (GatherBlockQuantized); a tied lm_head shares it.

Per provider: the CPU form keeps float32 activations and int8-activation MatMulNBits (accuracy level 4); CUDA and
DirectML get float16 activations and caches; DirectML computes positions and applies RotaryEmbedding outside
attention (its GroupQueryAttention has no rotary). CoreML runs none of these contrib ops: its form is the CPU form,
and ONNX Runtime places the nodes CoreML cannot take on the CPU.

The KV cache is written in the activations' type. An int8 cache (``BuildOptions.kv_cache``, CPU) is derived from
this graph after it is written: engine.models.convert.kv_cache calibrates per-channel scales on it and writes a
second graph proto whose GroupQueryAttention nodes carry the quantization attributes and scales, over the same
weights file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from onnx import TensorProto

from engine.models.convert.blockquant import blocks_per_row, quantize_rows, zero_point_bytes
from engine.models.convert.onnx_writer import DataFile, Graph
from engine.models.convert.options import CHUNK_BYTES, GRAPH_FORM, BuildOptions
from engine.models.convert.rope import rope_kind, rotary_caches
from engine.models.convert.safetensors_io import CheckpointTensors
from engine.models.convert.spec import ModelSpec
from engine.system.cancel import CancelToken

MAX_CACHE_POSITIONS = 131072


Progress = Callable[[int, int], None]


class DecoderWriter:
    """Streams a checkpoint's tensors into the graph; :meth:`build` does the whole model."""

    def __init__(self, spec: ModelSpec, tensors: CheckpointTensors, out: Path, options: BuildOptions) -> None:
        self.spec, self.tensors, self.options = spec, tensors, options
        self.out = out
        self.data = DataFile(out / "model.onnx.data")
        self.g = Graph(self.data)
        self.float_elem = TensorProto.FLOAT16 if options.float_type == np.float16 else TensorProto.FLOAT
        self._shared_head: list[str] | None = None  # a tied lm_head's quantized weights, made for the embedding

    # ---- weights ------------------------------------------------------------------------------------------
    def _float(self, name: str, values: np.ndarray) -> str:
        return self.data.add(name, values.astype(self.options.float_type))

    def _read(self, tensor: str, rows: slice | None = None) -> np.ndarray:
        return self.tensors.read(tensor, rows)

    def _row_blocks(self, tensor: str) -> Iterator[np.ndarray]:
        for _, block in self.tensors.row_blocks(tensor, CHUNK_BYTES):
            yield block

    def _vector(self, tensor: str, name: str) -> str:
        return self._float(name, self._read(tensor))

    def linear(self, x: str, sources: Sequence[str], name: str, *, bits: int = 4,
               bias: Sequence[str] = ()) -> str:
        """``x @ W.T (+ bias)`` for the weights ``sources`` stacked by rows (one MatMul for several)."""
        infos = [self.tensors.info(s) for s in sources]
        k = infos[0].shape[1]
        n = sum(i.shape[0] for i in infos)
        bias_name = ""
        if bias:
            bias_name = self._float(f"{name}.bias", np.concatenate([self._read(b) for b in bias]))
        if self.options.quantized and bits < 16:
            return self._linear_nbits(x, sources, name, n, k, bits, bias_name)
        weight = self._transposed(sources, f"{name}.weight", n, k)
        y = self.g.one("MatMul", [x, weight], name)
        return self.g.one("Add", [y, bias_name], f"{name}/bias") if bias_name else y

    def _quantized_weight(self, sources: Sequence[str], name: str, n: int, k: int, bits: int) -> list[str]:
        o = self.options
        n_blocks = blocks_per_row(k, o.block_size)
        packed = self.data.begin(f"{name}.q{bits}", np.uint8, (n, n_blocks, o.block_size * bits // 8))
        scale_rows: list[np.ndarray] = []
        zp_rows: list[np.ndarray] = []
        for source in sources:
            for rows in self._row_blocks(source):
                q = quantize_rows(rows, bits, o.block_size, o.symmetric)
                packed.write(q.packed)
                scale_rows.append(q.scales)
                zp_rows.append(q.zero_points)
        names = [packed.end(), self.data.add(f"{name}.scales",
                                             np.concatenate(scale_rows).astype(o.float_type).reshape(-1))]
        if not o.symmetric:
            zp = np.concatenate(zp_rows)
            assert zp.shape == (n, zero_point_bytes(k, o.block_size, bits))
            names.append(self.data.add(f"{name}.zero_points", zp.reshape(-1)))
        return names

    def _linear_nbits(self, x: str, sources: Sequence[str], name: str, n: int, k: int, bits: int,
                      bias: str) -> str:
        return self._matmul_nbits(x, self._quantized_weight(sources, name, n, k, bits), name, n, k, bits, bias)

    def _matmul_nbits(self, x: str, weights: list[str], name: str, n: int, k: int, bits: int, bias: str = "") -> str:
        zero_points = weights[2] if len(weights) == 3 else ""
        inputs = [x, weights[0], weights[1], zero_points, "", bias]  # A, B, scales, zero_points, g_idx, bias
        while inputs[-1] == "":
            inputs.pop()
        return self.g.ms("MatMulNBits", inputs, name, K=k, N=n, bits=bits, block_size=self.options.block_size,
                         accuracy_level=self.options.accuracy_level)

    def _transposed(self, sources: Sequence[str], name: str, n: int, k: int) -> str:
        """The stacked weights as one [K, N] float tensor, written in blocks of K rows (column slices)."""
        out = self.data.begin(name, self.options.float_type, (k, n))
        step = max(1, CHUNK_BYTES // (4 * n))
        for first in range(0, k, step):
            cols = slice(first, min(k, first + step))
            out.write(np.concatenate([self.tensors.read(s)[:, cols].T for s in sources], axis=1))
        return out.end()

    # ---- graph pieces -------------------------------------------------------------------------------------
    def _inputs(self) -> tuple[str, str, str, str]:
        g, s = self.g, self.spec
        ids = g.input("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
        mask = g.input("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])
        for i in range(s.layers):
            for kind in ("key", "value"):
                g.input(f"past_key_values.{i}.{kind}", self.float_elem,
                        ["batch_size", s.kv_heads, "past_sequence_length", s.head_dim])
                g.output(f"present.{i}.{kind}", self.float_elem,
                         ["batch_size", s.kv_heads, "total_sequence_length", s.head_dim])
        summed = g.one("ReduceSum", [mask, g.const("axes_1", np.array([1], np.int64))], "/mask/sum", keepdims=0)
        seqlens = g.one("Cast", [g.one("Sub", [summed, g.const("one_i64", np.array(1, np.int64))], "/mask/sub")],
                        "/mask/seqlens_k", to=TensorProto.INT32)
        total = g.one("Cast", [g.one("Gather", [g.one("Shape", [mask], "/mask/shape"),
                                                g.const("index_1", np.array(1, np.int64))], "/mask/total", axis=0)],
                      "/mask/total_i32", to=TensorProto.INT32)
        return ids, mask, seqlens, total

    def _positions(self, ids: str, mask: str) -> str:
        """[batch, seq] positions of the new tokens (total - seq ... total - 1), for RotaryEmbedding."""
        g = self.g
        total = g.one("Gather", [g.one("Shape", [mask], "/pos/mask_shape"), "index_1"], "/pos/total", axis=0)
        seq = g.one("Gather", [g.one("Shape", [ids], "/pos/ids_shape"), "index_1"], "/pos/seq", axis=0)
        past = g.one("Sub", [total, seq], "/pos/past")
        rng = g.one("Range", [past, total, "one_i64"], "/pos/range")
        return g.one("Unsqueeze", [rng, g.const("axes_0", np.array([0], np.int64))], "/pos/ids")

    def _embedding(self, ids: str) -> str:
        o, s, g = self.options, self.spec, self.g
        table = "model.embed_tokens.weight"
        if o.quantized and o.embedding_bits < 16:
            bits = o.embedding_bits
            shared = s.tie_embeddings and bits == o.lm_head_bits
            weights = self._quantized_weight([table], "model.embed_tokens", s.vocab, s.hidden, bits)
            self._shared_head = weights if shared else None
            data = g.one("Reshape", [weights[0], g.const("embed_shape", np.array([s.vocab, -1], np.int64))],
                         "/embed/packed_2d")
            scales = g.one("Reshape", [weights[1], g.const("embed_scale_shape", np.array([s.vocab, -1], np.int64))],
                           "/embed/scales_2d")
            inputs = [data, ids, scales]
            if len(weights) == 3:
                inputs.append(g.one("Reshape", [weights[2], "embed_scale_shape"], "/embed/zp_2d"))
            return g.ms("GatherBlockQuantized", inputs, "/embed", bits=bits, block_size=o.block_size,
                        gather_axis=0, quantize_axis=1)
        weight = self.data.begin("model.embed_tokens.weight", o.float_type, (s.vocab, s.hidden))
        for rows in self._row_blocks(table):
            weight.write(rows)
        return g.one("Gather", [weight.end(), ids], "/embed", axis=0)

    def _rms(self, x: str, weight: str, name: str) -> str:
        return self.g.one("SimplifiedLayerNormalization", [x, weight], name, axis=-1, epsilon=self.spec.rms_eps)

    def _skip_rms(self, x: str, residual: str, weight: str, name: str) -> tuple[str, str]:
        out, _, _, summed = self.g.op("SkipSimplifiedLayerNormalization", [x, residual, weight], name, outputs=4,
                                      domain="com.microsoft", epsilon=self.spec.rms_eps)
        return out, summed

    def _head_norm(self, x: str, heads: int, weight: str, name: str) -> str:
        """RMS norm over each head of ``x`` [batch, seq, heads * head_dim] (Qwen3's q/k norm)."""
        g, d = self.g, self.spec.head_dim
        split = g.one("Reshape", [x, g.const(f"{name}/shape", np.array([0, 0, heads, d], np.int64))],
                      f"{name}/split")
        normed = self._rms(split, weight, f"{name}/rms")
        return g.one("Reshape", [normed, g.const(f"{name}/merge", np.array([0, 0, heads * d], np.int64))],
                     f"{name}/merge")

    def _attention(self, i: int, h: str, seqlens: str, total: str, positions: str) -> str:
        s, o, g = self.spec, self.options, self.g
        p = s.layer(i) + "self_attn."
        sources = [f"{p}q_proj.weight", f"{p}k_proj.weight", f"{p}v_proj.weight"]
        bias = [f"{p}q_proj.bias", f"{p}k_proj.bias", f"{p}v_proj.bias"] if s.qkv_bias else []
        qkv = self.linear(h, sources, f"/layers.{i}/attn/qkv", bias=bias)
        separate = s.qk_norm or not o.rope_in_attention
        q = k = v = ""
        if separate:
            q, k, v = g.op("Split", [qkv, g.const(f"/layers.{i}/attn/split_sizes",
                                                   np.array([s.q_size, s.kv_size, s.kv_size], np.int64))],
                           f"/layers.{i}/attn/split", outputs=3, axis=-1)
            if s.qk_norm:
                q = self._head_norm(q, s.heads, self._vector(f"{p}q_norm.weight", f"{p}q_norm.weight"),
                                    f"/layers.{i}/attn/q_norm")
                k = self._head_norm(k, s.kv_heads, self._vector(f"{p}k_norm.weight", f"{p}k_norm.weight"),
                                    f"/layers.{i}/attn/k_norm")
            if not o.rope_in_attention:
                q = g.ms("RotaryEmbedding", [q, positions, "cos_cache", "sin_cache"], f"/layers.{i}/attn/q_rope",
                         num_heads=s.heads, interleaved=0)
                k = g.ms("RotaryEmbedding", [k, positions, "cos_cache", "sin_cache"], f"/layers.{i}/attn/k_rope",
                         num_heads=s.kv_heads, interleaved=0)
        query, key, value = (q, k, v) if separate else (qkv, "", "")
        inputs = [query, key, value, f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens, total]
        if o.rope_in_attention:
            inputs += ["cos_cache", "sin_cache"]
        attn, _, _ = g.op("GroupQueryAttention", inputs, f"/layers.{i}/attn/gqa",
                          outputs=[f"/layers.{i}/attn/gqa/out", f"present.{i}.key", f"present.{i}.value"],
                          domain="com.microsoft", num_heads=s.heads, kv_num_heads=s.kv_heads,
                          do_rotary=int(o.rope_in_attention), rotary_interleaved=0,
                          scale=float(1.0 / np.sqrt(s.head_dim)), local_window_size=-1)
        return self.linear(attn, [f"{p}o_proj.weight"], f"/layers.{i}/attn/o_proj",
                           bias=[f"{p}o_proj.bias"] if s.o_bias else [])

    def _mlp(self, i: int, h: str) -> str:
        s, g = self.spec, self.g
        p = s.layer(i) + "mlp."
        bias = [f"{p}gate_proj.bias", f"{p}up_proj.bias"] if s.mlp_bias else []
        gate_up = self.linear(h, [f"{p}gate_proj.weight", f"{p}up_proj.weight"], f"/layers.{i}/mlp/gate_up",
                              bias=bias)
        gate, up = g.op("Split", [gate_up, g.const(f"/layers.{i}/mlp/sizes",
                                                  np.array([s.intermediate, s.intermediate], np.int64))],
                        f"/layers.{i}/mlp/split", outputs=2, axis=-1)
        silu = g.one("Mul", [gate, g.one("Sigmoid", [gate], f"/layers.{i}/mlp/sigmoid")], f"/layers.{i}/mlp/silu")
        act = g.one("Mul", [silu, up], f"/layers.{i}/mlp/act")
        return self.linear(act, [f"{p}down_proj.weight"], f"/layers.{i}/mlp/down",
                           bias=[f"{p}down_proj.bias"] if s.mlp_bias else [])

    def _lm_head(self, x: str) -> str:
        s, o, g = self.spec, self.options, self.g
        last = g.one("Slice", [x, g.const("last_start", np.array([-1], np.int64)),
                               g.const("last_end", np.array([np.iinfo(np.int64).max], np.int64)), "axes_1"],
                     "/lm_head/last_row")
        if self._shared_head is not None:
            logits = self._matmul_nbits(last, self._shared_head, "/lm_head", s.vocab, s.hidden, o.lm_head_bits)
        else:
            logits = self.linear(last, [s.lm_head], "/lm_head", bits=o.lm_head_bits)
        if o.float_type == np.float16:  # the runtime reads float32 logits on every provider
            logits = g.one("Cast", [logits], "/lm_head/float", to=TensorProto.FLOAT)
        g.nodes[-1].output[0] = "logits"
        g.output("logits", TensorProto.FLOAT, ["batch_size", 1, s.vocab])
        return "logits"

    def build(self, progress: Progress | None = None, cancel: CancelToken | None = None) -> Path:
        """Write model.onnx and model.onnx.data into the output folder; returns the model path."""
        s, g = self.spec, self.g
        total_steps = s.layers + 2

        def step(done: int) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled("Conversion")
            if progress is not None:
                progress(done, total_steps)

        ids, mask, seqlens, total = self._inputs()
        cos, sin = rotary_caches(s, min(s.context, MAX_CACHE_POSITIONS))
        self._float("cos_cache", cos)
        self._float("sin_cache", sin)
        positions = "" if self.options.rope_in_attention else self._positions(ids, mask)
        x = self._embedding(ids)
        step(1)
        residual = x
        mlp_out = ""
        for i in range(s.layers):
            p = s.layer(i)
            ln1 = self._vector(f"{p}input_layernorm.weight", f"{p}input_layernorm.weight")
            if i == 0:
                h = self._rms(x, ln1, "/layers.0/input_norm")
            else:
                h, residual = self._skip_rms(mlp_out, residual, ln1, f"/layers.{i}/input_norm")
            attn = self._attention(i, h, seqlens, total, positions)
            ln2 = self._vector(f"{p}post_attention_layernorm.weight", f"{p}post_attention_layernorm.weight")
            h2, residual = self._skip_rms(attn, residual, ln2, f"/layers.{i}/post_attention_norm")
            mlp_out = self._mlp(i, h2)
            step(i + 2)
        final, _ = self._skip_rms(mlp_out, residual, self._vector("model.norm.weight", "model.norm.weight"),
                                  "/final_norm")
        self._lm_head(final)
        self.data.close()
        path = g.save(self.out, producer="ponder", metadata={
            "ponder.graph_form": GRAPH_FORM, "ponder.rope": rope_kind(s.rope_scaling)})
        step(total_steps)
        return path
