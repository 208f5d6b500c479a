"""Write the ONNX graph of a cross-encoder (a BERT-family ``*ForSequenceClassification`` checkpoint with one output,
such as a reranker) straight from its safetensors, without PyTorch.

The encoder is :class:`~engine.documents.encoder_graph.EncoderWriter`'s graph; on top of it the checkpoint's
classification head reads the first token's hidden state (``[CLS]`` / ``<s>``):

- BERT: the pooler (dense + tanh) then ``classifier`` (one output);
- RoBERTa, XLM-R (bge-reranker), MPNet: ``classifier.dense`` + tanh, then ``classifier.out_proj``;
- ELECTRA: ``classifier.dense`` + exact GELU, then ``classifier.out_proj``;
- DistilBERT: ``pre_classifier`` + ReLU, then ``classifier``.

Dropout is the identity at inference. The output ``logits`` [batch, 1] float32 is the relevance score (higher is
more relevant); a reranker's score is a logit, so ``sigmoid(logit)`` reads as a probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from onnx import TensorProto

from engine.documents.encoder_graph import EncoderSpec, EncoderWriter, read_encoder_spec
from engine.models.convert.safetensors_io import CheckpointTensors
from engine.system.errors import ConversionError

CROSS_ENCODER_TYPES = ("bert", "xlm-roberta", "roberta", "mpnet", "electra", "distilbert")
# (first linear, its activation, second linear) per model type; "{p}" is the checkpoint's model prefix
_HEADS: dict[str, tuple[str, str, str]] = {
    "bert": ("{p}pooler.dense", "Tanh", "classifier"),
    "roberta": ("classifier.dense", "Tanh", "classifier.out_proj"),
    "xlm-roberta": ("classifier.dense", "Tanh", "classifier.out_proj"),
    "mpnet": ("classifier.dense", "Tanh", "classifier.out_proj"),
    "electra": ("classifier.dense", "Gelu", "classifier.out_proj"),
    "distilbert": ("pre_classifier", "Relu", "classifier"),
}
_NOT_A_RERANKER = ("Choose a cross-encoder (reranker) checkpoint: a *ForSequenceClassification model with one "
                   "output, such as cross-encoder/ms-marco-MiniLM-L-6-v2 or BAAI/bge-reranker-base.")


def head_names(spec: EncoderSpec) -> tuple[str, str, str]:
    """The head's first linear layer, its activation and the output layer, as tensor names without .weight/.bias."""
    first, activation, last = _HEADS[spec.model_type]
    return first.format(p=spec.prefix), activation, last


def check_cross_encoder(config: dict[str, Any], tensors: CheckpointTensors) -> EncoderSpec:
    """The encoder spec of a cross-encoder checkpoint; ConversionError naming what is missing otherwise (no
    classification head, several outputs, an unsupported model type)."""
    model_type = config.get("model_type")
    if model_type not in CROSS_ENCODER_TYPES:
        raise ConversionError(f"Model type {model_type!r} is not a supported cross-encoder.",
                              f"Supported: {', '.join(CROSS_ENCODER_TYPES)}.")
    spec = read_encoder_spec(config, tensors)
    first, _, last = head_names(spec)
    missing = [f"{name}.{part}" for name in (first, last) for part in ("weight", "bias")
               if f"{name}.{part}" not in tensors]
    if missing:
        raise ConversionError(f"The checkpoint has no sequence-classification head ({', '.join(missing)} missing): "
                              "it is an embedding or base model, not a reranker.", _NOT_A_RERANKER)
    shape = tensors.info(f"{last}.weight").shape
    if len(shape) != 2 or shape[1] != spec.hidden:
        raise ConversionError(f"The classifier {last} has shape {shape}, which does not fit the hidden size "
                              f"{spec.hidden}.", "The checkpoint is damaged; download it again.")
    if shape[0] != 1:
        raise ConversionError(f"The classifier has {shape[0]} outputs; a reranker gives one relevance score.",
                              _NOT_A_RERANKER)
    return spec


class CrossEncoderWriter(EncoderWriter):
    """The encoder plus the classification head: output ``logits`` [batch, 1]."""

    def _head_linear(self, x: str, key: str, name: str, n: int) -> str:
        """``x @ W.T + b`` for a head layer, read under its own name (heads sit outside the model prefix)."""
        weight = self.tensors.read(f"{key}.weight").astype(np.float32, copy=False)
        bias = self.tensors.read(f"{key}.bias").astype(np.float32, copy=False)
        if weight.shape != (n, self.spec.hidden) or bias.shape != (n,):
            raise ConversionError(f"Tensor {key} has shape {weight.shape}, expected {(n, self.spec.hidden)}.",
                                  "The checkpoint is damaged; download it again.")
        y = self.g.one("MatMul", [x, self.data.add(f"{key}.weight.t", np.ascontiguousarray(weight.T))],
                       f"{name}/matmul")
        return self.g.one("Add", [y, self.data.add(f"{key}.bias", bias)], f"{name}/bias")

    def build(self) -> Path:
        """Write model.onnx (output ``logits``) and model.onnx.data into the output folder; returns the model."""
        s, g = self.spec, self.g
        hidden = self.encode()
        first = g.one("Gather", [hidden, g.const("/head/first_token", np.array(0, np.int64))], "/head/cls", axis=1)
        dense, activation, out = head_names(s)
        x = self._head_linear(first, dense, "/head/dense", s.hidden)
        x = g.one(activation, [x], "/head/act", **({"approximate": "none"} if activation == "Gelu" else {}))
        score = self._head_linear(x, out, "/head/out", 1)
        g.op("Identity", [score], "/head/logits", outputs=["logits"])
        g.output("logits", TensorProto.FLOAT, ["batch_size", 1])
        self.data.close()
        return g.save(self.out, producer="ponder", name="ponder_cross_encoder",
                      metadata={"ponder.graph": "cross-encoder", "ponder.model_type": s.model_type})


def write_cross_encoder(src: Path, out: Path, config: dict[str, Any]) -> Path:
    """Write the cross-encoder of checkpoint folder ``src`` (its parsed config.json is ``config``) into ``out``
    (``model.onnx`` and ``model.onnx.data``); returns the model's path. ConversionError when it is not a
    supported single-output cross-encoder."""
    tensors = CheckpointTensors(Path(src))
    spec = check_cross_encoder(config, tensors)
    return CrossEncoderWriter(spec, tensors, Path(out)).build()


__all__ = ["CROSS_ENCODER_TYPES", "CrossEncoderWriter", "check_cross_encoder", "head_names", "write_cross_encoder"]
