"""Write the ONNX graph of a BERT-family sentence encoder straight from its safetensors, without PyTorch.

Supported config.json ``model_type``: bert, roberta, xlm-roberta, electra, distilbert and mpnet. The weights are
read one tensor at a time (:class:`~engine.models.convert.safetensors_io.CheckpointTensors`: positioned reads, bf16/fp16
widened to fp32) and appended to ``model.onnx.data`` as they are ready; nothing from the checkpoint is executed.

The graph, in plain ONNX opset 21 ops (no contrib ops, so ``quantize_dynamic`` and every execution provider see
ordinary MatMuls):

- inputs ``input_ids`` and ``attention_mask`` [batch, seq] int64, and ``token_type_ids`` [batch, seq] int64 when the
  checkpoint's token type table has more than one row (BERT, ELECTRA; XLM-R's one-row table is added as a
  constant); output ``last_hidden_state`` [batch, seq, hidden] float32.
- embeddings: word + token type + position, then LayerNorm (ELECTRA: a projection to the hidden size after it).
  BERT, ELECTRA and DistilBERT number positions 0..seq-1; RoBERTa, XLM-R and MPNet count the non-padding tokens
  from ``pad_token_id + 1`` and give padding the padding index (transformers' ``create_position_ids_from_input_ids``).
- per layer (post-norm): q/k/v as one MatMul (weights stored transposed, [K, N]) plus bias, split into heads, q
  scaled by 1/sqrt(head_dim), softmax over keys with an additive mask of ``(1 - mask) * float32 min`` (as the
  PyTorch models build it, so padded keys get no weight and a padded batch gives the unpadded vectors), the output
  projection, LayerNorm of the residual sum; the feed-forward MatMul, activation (exact erf GELU, its tanh
  approximation, or ReLU, as config.json names it), MatMul, LayerNorm of the residual sum.
- MPNet: the relative position bias (T5-style buckets of key - query distance, one table shared by every layer)
  is looked up per distance from a table made here and added to the scores.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto

from engine.models.convert.onnx_writer import DATA_FILE, DataFile, Graph
from engine.models.convert.options import CHUNK_BYTES
from engine.models.convert.safetensors_io import CheckpointTensors
from engine.system.errors import ConversionError

ENCODER_MODEL_TYPES = ("bert", "xlm-roberta", "roberta", "mpnet", "distilbert", "electra")
_ERF_GELU = ("gelu", "gelu_python")
_TANH_GELU = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_python_tanh")
ACTIVATIONS = (*_ERF_GELU, *_TANH_GELU, "relu")
_PADDING_POSITIONS = ("roberta", "xlm-roberta", "mpnet")  # position ids count non-padding tokens
_PREFIXES = ("", "bert.", "roberta.", "electra.", "distilbert.", "mpnet.")  # base_model_prefix of *For... heads
_MPNET_BUCKETS = 32  # MPNetEncoder.compute_position_bias always uses 32 buckets, max distance 128
_MPNET_MAX_DISTANCE = 128
MAX_SINGLE_FILE_BYTES = 2**31 - 2**24  # protobuf's 2 GiB limit on one message, less room for the graph
_FIX = "The checkpoint does not match its config.json; download it again or choose another."


@dataclass(frozen=True)
class EncoderSpec:
    """The shape of an encoder checkpoint, from its config.json and its tensors."""

    model_type: str
    hidden: int
    heads: int
    layers: int
    intermediate: int
    activation: str
    eps: float
    prefix: str  # what the checkpoint puts in front of every tensor name ("" or e.g. "bert.")
    vocab: int
    max_positions: int
    padding_positions: bool  # RoBERTa-style position ids
    pad_id: int
    token_types: int  # rows of the token type table; 0 when the model has none
    embedding_size: int  # ELECTRA's embeddings can be narrower than the hidden size (then projected)

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden // self.heads


def encoder_hidden_size(config: dict[str, Any]) -> int:
    """Length of the encoder's output vectors (DistilBERT calls it ``dim``)."""
    key = "dim" if config.get("model_type") == "distilbert" else "hidden_size"
    return _config_int(config, key)


def _config_int(config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConversionError(f"config.json has no valid {key!r} ({value!r}).", _FIX)
    return value


def _layer_names(model_type: str, i: int) -> dict[str, str]:
    """Tensor names (without prefix and .weight/.bias) of layer ``i``'s parts."""
    if model_type == "distilbert":
        p = f"transformer.layer.{i}."
        return {"q": p + "attention.q_lin", "k": p + "attention.k_lin", "v": p + "attention.v_lin",
                "o": p + "attention.out_lin", "attn_norm": p + "sa_layer_norm", "ffn_in": p + "ffn.lin1",
                "ffn_out": p + "ffn.lin2", "out_norm": p + "output_layer_norm"}
    p = f"encoder.layer.{i}."
    if model_type == "mpnet":
        attn = {"q": p + "attention.attn.q", "k": p + "attention.attn.k", "v": p + "attention.attn.v",
                "o": p + "attention.attn.o", "attn_norm": p + "attention.LayerNorm"}
    else:
        attn = {"q": p + "attention.self.query", "k": p + "attention.self.key", "v": p + "attention.self.value",
                "o": p + "attention.output.dense", "attn_norm": p + "attention.output.LayerNorm"}
    return {**attn, "ffn_in": p + "intermediate.dense", "ffn_out": p + "output.dense",
            "out_norm": p + "output.LayerNorm"}


def read_encoder_spec(config: dict[str, Any], tensors: CheckpointTensors) -> EncoderSpec:
    """Check that ``config`` describes an encoder this module writes and that ``tensors`` match it.

    Raises ConversionError naming the reason for an unsupported model type, activation, position embedding,
    decoder configuration or a checkpoint whose tensors do not fit its config.
    """
    model_type = config.get("model_type")
    if model_type not in ENCODER_MODEL_TYPES:
        raise ConversionError(f"Model type {model_type!r} is not a supported sentence encoder.",
                              f"Supported: {', '.join(ENCODER_MODEL_TYPES)}.")
    distil = model_type == "distilbert"
    activation = config.get("activation" if distil else "hidden_act", "gelu")
    if activation not in ACTIVATIONS:
        raise ConversionError(f"The encoder's activation {activation!r} is not supported.",
                              f"Supported activations: {', '.join(ACTIVATIONS)}.")
    position_type = config.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ConversionError(f"Position embeddings of type {position_type!r} are not supported.",
                              "Ponder writes encoders with absolute position embeddings only.")
    if config.get("is_decoder") or config.get("add_cross_attention"):
        raise ConversionError("This checkpoint is configured as a decoder (causal attention), not an encoder.",
                              "Choose a sentence-embedding (encoder) checkpoint.")
    if model_type == "mpnet" and config.get("relative_attention_num_buckets", _MPNET_BUCKETS) != _MPNET_BUCKETS:
        raise ConversionError(f"MPNet with {config.get('relative_attention_num_buckets')} relative attention "
                              f"buckets is not supported (transformers itself always uses {_MPNET_BUCKETS}).",
                              "Choose another checkpoint.")
    hidden = encoder_hidden_size(config)
    heads = _config_int(config, "n_heads" if distil else "num_attention_heads")
    if hidden % heads:
        raise ConversionError(f"The hidden size {hidden} is not a multiple of {heads} attention heads.", _FIX)
    word = "embeddings.word_embeddings.weight"
    prefix = next((p for p in _PREFIXES if p + word in tensors), None)
    if prefix is None:
        raise ConversionError(f"The checkpoint has no {word!r} (with or without a model prefix).", _FIX)
    vocab, embedding_size = _shape2(tensors, prefix + word)
    max_positions, pos_width = _shape2(tensors, prefix + "embeddings.position_embeddings.weight")
    token_types = 0
    if prefix + "embeddings.token_type_embeddings.weight" in tensors:
        token_types, type_width = _shape2(tensors, prefix + "embeddings.token_type_embeddings.weight")
        if type_width != embedding_size:
            raise ConversionError("The token type and word embeddings differ in width.", _FIX)
    if pos_width != embedding_size or (embedding_size != hidden and model_type != "electra"):
        raise ConversionError(f"The embeddings ({embedding_size} wide) do not fit the hidden size {hidden}.", _FIX)
    eps = 1e-12 if distil else config.get("layer_norm_eps", 1e-12)
    if not isinstance(eps, int | float) or not 0 < eps < 1:
        raise ConversionError(f"config.json has no valid 'layer_norm_eps' ({eps!r}).", _FIX)
    # MPNetEmbeddings hard-codes padding index 1 whatever pad_token_id says
    pad_id = 1 if model_type == "mpnet" else config.get("pad_token_id", 0 if distil else 1)
    if model_type in _PADDING_POSITIONS and (not isinstance(pad_id, int) or not 0 <= pad_id < max_positions - 1):
        raise ConversionError(f"config.json has no valid 'pad_token_id' ({pad_id!r}).", _FIX)
    return EncoderSpec(
        model_type=str(model_type), hidden=hidden, heads=heads,
        layers=_config_int(config, "n_layers" if distil else "num_hidden_layers"),
        intermediate=_config_int(config, "hidden_dim" if distil else "intermediate_size"),
        activation=str(activation), eps=float(eps), prefix=prefix, vocab=vocab, max_positions=max_positions,
        padding_positions=model_type in _PADDING_POSITIONS, pad_id=int(pad_id) if isinstance(pad_id, int) else 0,
        token_types=token_types, embedding_size=embedding_size)


def _shape2(tensors: CheckpointTensors, name: str) -> tuple[int, int]:
    shape = tensors.info(name).shape
    if len(shape) != 2:
        raise ConversionError(f"Tensor {name} has shape {shape}, expected a matrix.", _FIX)
    return shape[0], shape[1]


def relative_position_buckets(max_len: int, num_buckets: int = _MPNET_BUCKETS,
                              max_distance: int = _MPNET_MAX_DISTANCE) -> np.ndarray:
    """MPNet's bucket of every key - query distance -(max_len-1)..max_len-1 (index ``distance + max_len - 1``).

    The arithmetic is transformers' ``MPNetEncoder.relative_position_bucket`` step by step in float32, so the
    buckets are the same at the boundaries of the logarithmic range.
    """
    relative = np.arange(-(max_len - 1), max_len, dtype=np.int64)  # memory position - context position
    n = -relative
    half = num_buckets // 2
    ret = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    max_exact = half // 2
    scaled = np.log(np.maximum(n, max_exact).astype(np.float32) / np.float32(max_exact))
    scaled = scaled / np.float32(math.log(max_distance / max_exact)) * np.float32(half - max_exact)
    large = np.minimum(max_exact + scaled.astype(np.int64), half - 1)
    return ret + np.where(n < max_exact, n, large)


class EncoderWriter:
    """Streams an encoder checkpoint's tensors into the graph; :meth:`build` writes the whole model."""

    def __init__(self, spec: EncoderSpec, tensors: CheckpointTensors, out: Path) -> None:
        self.spec, self.tensors, self.out = spec, tensors, out
        self.data = DataFile(out / DATA_FILE)
        self.g = Graph(self.data)
        self._seq_1d = ""  # [seq] as a 1-D int64 tensor, made by build()

    # ---- weights ------------------------------------------------------------------------------------------
    def _name(self, key: str) -> str:
        """The checkpoint's name for ``key`` (old BERT checkpoints call LayerNorm's weight/bias gamma/beta)."""
        name = self.spec.prefix + key
        if name not in self.tensors:
            for new, old in ((".weight", ".gamma"), (".bias", ".beta")):
                if name.endswith(new) and name[: -len(new)] + old in self.tensors:
                    return name[: -len(new)] + old
        return name

    def _read(self, key: str, shape: Sequence[int]) -> np.ndarray:
        name = self._name(key)
        info = self.tensors.info(name)
        if info.shape != tuple(shape):
            raise ConversionError(f"Tensor {name} has shape {info.shape}, expected {tuple(shape)}.", _FIX)
        return self.tensors.read(name).astype(np.float32, copy=False)

    def _vector(self, key: str, size: int) -> str:
        return self.data.add(key, self._read(key, (size,)))

    def _table(self, key: str, rows: int, width: int) -> str:
        """An embedding table, copied in blocks of rows."""
        name = self._name(key)
        if self.tensors.info(name).shape != (rows, width):
            raise ConversionError(f"Tensor {name} has shape {self.tensors.info(name).shape}, "
                                  f"expected {(rows, width)}.", _FIX)
        out = self.data.begin(key, np.float32, (rows, width))
        for _, block in self.tensors.row_blocks(name, CHUNK_BYTES):
            out.write(block)
        return out.end()

    def linear(self, x: str, keys: Sequence[str], name: str, k: int, n: int) -> str:
        """``x @ W.T + b`` for the linear layers ``keys`` ([n, k] each) stacked into one [k, n * len(keys)] MatMul."""
        weight = np.concatenate([self._read(f"{key}.weight", (n, k)).T for key in keys], axis=1)
        bias = np.concatenate([self._read(f"{key}.bias", (n,)) for key in keys])
        y = self.g.one("MatMul", [x, self.data.add(f"{name}.weight", weight)], f"{name}/matmul")
        return self.g.one("Add", [y, self.data.add(f"{name}.bias", bias)], f"{name}/bias")

    def _layer_norm(self, x: str, key: str, size: int, name: str, output: str = "") -> str:
        inputs = [x, self._vector(f"{key}.weight", size), self._vector(f"{key}.bias", size)]
        outputs: int | list[str] = [output] if output else 1
        return self.g.op("LayerNormalization", inputs, name, outputs=outputs, axis=-1, epsilon=self.spec.eps)[0]

    # ---- graph pieces -------------------------------------------------------------------------------------
    def _embeddings(self, ids: str, token_types: str) -> str:
        s, g = self.spec, self.g
        e = s.embedding_size
        x = g.one("Gather", [self._table("embeddings.word_embeddings.weight", s.vocab, e), ids], "/embed/word",
                  axis=0)
        if s.token_types:
            table = self._table("embeddings.token_type_embeddings.weight", s.token_types, e)
            if token_types:
                types = g.one("Gather", [table, token_types], "/embed/token_type", axis=0)
            else:  # one row: every token has type 0
                types = g.one("Gather", [table, g.const("/embed/type0", np.array(0, np.int64))], "/embed/type_row",
                              axis=0)
            x = g.one("Add", [x, types], "/embed/add_type")
        positions = self._table("embeddings.position_embeddings.weight", s.max_positions, e)
        if s.padding_positions:
            pad = g.const("/embed/pad_id", np.array(s.pad_id, np.int64))
            real = g.one("Cast", [g.one("Not", [g.one("Equal", [ids, pad], "/pos/is_pad")], "/pos/not_pad")],
                         "/pos/real", to=TensorProto.INT64)
            counted = g.one("CumSum", [real, g.const("/pos/axis", np.array(1, np.int64))], "/pos/cumsum")
            ids_pos = g.one("Add", [g.one("Mul", [counted, real], "/pos/masked"), pad], "/pos/ids")
            pos = g.one("Gather", [positions, ids_pos], "/embed/position", axis=0)
        else:
            pos = g.one("Slice", [positions, g.const("/pos/start", np.array([0], np.int64)), self._seq_1d,
                                  g.const("/pos/axes", np.array([0], np.int64))], "/embed/position")
        x = g.one("Add", [x, pos], "/embed/add_position")
        x = self._layer_norm(x, "embeddings.LayerNorm", e, "/embed/norm")
        if e != s.hidden:
            x = self.linear(x, ["embeddings_project"], "/embed/project", e, s.hidden)
        return x

    def _attention_bias(self, mask: str) -> str:
        """[batch, 1|heads, seq, seq] additive bias: float32 min on padded keys (plus MPNet's position bias)."""
        g = self.g
        keep = g.one("Cast", [mask], "/mask/float", to=TensorProto.FLOAT)
        dropped = g.one("Sub", [g.const("/mask/one", np.array(1.0, np.float32)), keep], "/mask/dropped")
        bias = g.one("Mul", [dropped, g.const("/mask/min", np.array(np.finfo(np.float32).min, np.float32))],
                     "/mask/bias")
        bias = g.one("Unsqueeze", [bias, g.const("/mask/axes", np.array([1, 2], np.int64))], "/mask/bias_4d")
        if self.spec.model_type != "mpnet":
            return bias
        # scores + position bias + mask == scores + (position bias + mask): the sum is float32 min where masked
        length = self.spec.max_positions
        buckets = relative_position_buckets(length)
        per_distance = self._read("encoder.relative_attention_bias.weight", (_MPNET_BUCKETS, self.spec.heads))
        table = self.data.add("encoder.relative_attention_bias.by_distance", per_distance[buckets])
        seq = g.one("Squeeze", [self._seq_1d, g.const("/rel/axes0", np.array([0], np.int64))], "/rel/seq")
        steps = g.one("Range", [g.const("/rel/zero", np.array(0, np.int64)), seq,
                                g.const("/rel/one", np.array(1, np.int64))], "/rel/range")
        keys = g.one("Unsqueeze", [steps, "/rel/axes0"], "/rel/keys")
        queries = g.one("Unsqueeze", [steps, g.const("/rel/axes1", np.array([1], np.int64))], "/rel/queries")
        distance = g.one("Sub", [keys, queries], "/rel/distance")
        index = g.one("Add", [distance, g.const("/rel/offset", np.array(length - 1, np.int64))], "/rel/index")
        rel = g.one("Gather", [table, index], "/rel/bias", axis=0)  # [seq, seq, heads]
        rel = g.one("Transpose", [rel], "/rel/heads_first", perm=[2, 0, 1])
        return g.one("Add", [bias, rel], "/rel/with_mask")

    def _activation(self, x: str, name: str) -> str:
        act = self.spec.activation
        if act in _ERF_GELU:
            return self.g.one("Gelu", [x], name, approximate="none")
        if act in _TANH_GELU:
            return self.g.one("Gelu", [x], name, approximate="tanh")
        return self.g.one("Relu", [x], name)

    def _layer(self, i: int, x: str, bias: str) -> str:
        s, g = self.spec, self.g
        names = _layer_names(s.model_type, i)
        p = f"/layers.{i}"
        qkv = self.linear(x, [names["q"], names["k"], names["v"]], f"{p}/attn/qkv", s.hidden, s.hidden)
        q, k, v = g.op("Split", [qkv, g.const(f"{p}/attn/sizes", np.array([s.hidden] * 3, np.int64))],
                       f"{p}/attn/split", outputs=3, axis=-1)
        q = g.one("Mul", [q, "/attn/scale"], f"{p}/attn/q_scaled")
        heads = [g.one("Reshape", [t, "/attn/heads_shape"], f"{p}/attn/{n}_heads") for t, n in
                 ((q, "q"), (k, "k"), (v, "v"))]
        q = g.one("Transpose", [heads[0]], f"{p}/attn/q_t", perm=[0, 2, 1, 3])  # [batch, heads, seq, dim]
        k = g.one("Transpose", [heads[1]], f"{p}/attn/k_t", perm=[0, 2, 3, 1])  # [batch, heads, dim, seq]
        v = g.one("Transpose", [heads[2]], f"{p}/attn/v_t", perm=[0, 2, 1, 3])
        scores = g.one("Add", [g.one("MatMul", [q, k], f"{p}/attn/scores"), bias], f"{p}/attn/masked")
        probs = g.one("Softmax", [scores], f"{p}/attn/softmax", axis=-1)
        context = g.one("Transpose", [g.one("MatMul", [probs, v], f"{p}/attn/context")], f"{p}/attn/context_t",
                        perm=[0, 2, 1, 3])
        context = g.one("Reshape", [context, "/attn/merge_shape"], f"{p}/attn/merge")
        attn = self.linear(context, [names["o"]], f"{p}/attn/out", s.hidden, s.hidden)
        h = self._layer_norm(g.one("Add", [attn, x], f"{p}/attn/residual"), names["attn_norm"], s.hidden,
                             f"{p}/attn/norm")
        up = self._activation(self.linear(h, [names["ffn_in"]], f"{p}/ffn/in", s.hidden, s.intermediate),
                              f"{p}/ffn/act")
        down = self.linear(up, [names["ffn_out"]], f"{p}/ffn/out", s.intermediate, s.hidden)
        last = i == s.layers - 1
        return self._layer_norm(g.one("Add", [down, h], f"{p}/ffn/residual"), names["out_norm"], s.hidden,
                                f"{p}/ffn/norm", output="last_hidden_state" if last else "")

    def encode(self) -> str:
        """Declare the inputs and add the embeddings and every layer; returns the last hidden state's name
        (``last_hidden_state``, [batch, seq, hidden]). A head (a cross-encoder's classifier) builds on it."""
        s, g = self.spec, self.g
        dims = ["batch_size", "sequence_length"]
        ids = g.input("input_ids", TensorProto.INT64, dims)
        mask = g.input("attention_mask", TensorProto.INT64, dims)
        token_types = g.input("token_type_ids", TensorProto.INT64, dims) if s.token_types > 1 else ""
        self._seq_1d = g.one("Shape", [ids], "/shape/seq", start=1, end=2)
        g.const("/attn/scale", np.array(1.0 / math.sqrt(s.head_dim), np.float32))
        g.const("/attn/heads_shape", np.array([0, 0, s.heads, s.head_dim], np.int64))
        g.const("/attn/merge_shape", np.array([0, 0, s.hidden], np.int64))
        x = self._embeddings(ids, token_types)
        bias = self._attention_bias(mask)
        for i in range(s.layers):
            x = self._layer(i, x, bias)
        return x

    def build(self) -> Path:
        """Write model.onnx and model.onnx.data into the output folder; returns the model path."""
        s, g = self.spec, self.g
        self.encode()
        g.output("last_hidden_state", TensorProto.FLOAT, ["batch_size", "sequence_length", s.hidden])
        self.data.close()
        return g.save(self.out, producer="ponder", name="ponder_encoder",
                      metadata={"ponder.graph": "encoder", "ponder.model_type": s.model_type})


def write_encoder(src: Path, out: Path, config: dict[str, Any]) -> Path:
    """Write the encoder of checkpoint folder ``src`` (its parsed config.json is ``config``) into ``out``.

    ``out`` gets ``model.onnx`` and its weights in ``model.onnx.data``; returns the model's path.
    Raises ConversionError when the model or its tensors are not supported (see :func:`read_encoder_spec`).
    """
    tensors = CheckpointTensors(Path(src))
    spec = read_encoder_spec(config, tensors)
    return EncoderWriter(spec, tensors, Path(out)).build()


def inline_weights(model_path: Path) -> Path:
    """Rewrite ``model_path`` as one self-contained file (weights inside) and delete its external data file.

    Embedders stay well under protobuf's 2 GiB message limit; a larger one raises ConversionError.
    """
    data = model_path.parent / DATA_FILE
    size = data.stat().st_size if data.is_file() else 0
    if size > MAX_SINGLE_FILE_BYTES:
        raise ConversionError(f"The encoder's weights take {size / 2**30:.1f} GiB as float32, more than one ONNX "
                              "file can hold (2 GiB).", "Choose a smaller sentence-embedding model.")
    model = onnx.load(str(model_path), load_external_data=True)
    tmp = model_path.with_name(model_path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(model.SerializeToString())
        fh.flush()
        os.fsync(fh.fileno())
    del model
    os.replace(tmp, model_path)
    data.unlink(missing_ok=True)
    return model_path


__all__ = ["ACTIVATIONS", "ENCODER_MODEL_TYPES", "EncoderSpec", "EncoderWriter", "encoder_hidden_size",
           "inline_weights", "read_encoder_spec", "relative_position_buckets", "write_encoder"]
