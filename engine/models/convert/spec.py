"""What a decoder checkpoint is, from its config.json, checked against the tensors it really has.

Three families share one graph: Qwen2 (DeepSeek-R1-Distill-Qwen, Qwen2.5: biases on q/k/v), Llama 3.x
(DeepSeek-R1-Distill-Llama: rope scaling "llama3") and Qwen3 (RMS norms on each head's q and k, an explicit
head_dim). Anything else is refused with the reason before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.models.convert.safetensors_io import FLOAT_DTYPES, CheckpointTensors
from engine.system.errors import ConversionError

FAMILIES = {"Qwen2ForCausalLM": "qwen2", "LlamaForCausalLM": "llama", "Qwen3ForCausalLM": "qwen3"}
_FIX_SHAPES = "The checkpoint's tensors do not match its config.json; download it again or choose another."


@dataclass(frozen=True)
class ModelSpec:
    """The shape facts the graph writer needs."""

    family: str
    hf_architecture: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    context: int
    rms_eps: float
    rope_theta: float
    rope_scaling: dict[str, Any] | None
    tie_embeddings: bool
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    qk_norm: bool

    @property
    def q_size(self) -> int:
        """Width of the query projection."""
        return self.heads * self.head_dim

    @property
    def kv_size(self) -> int:
        """Width of the key (and value) projection."""
        return self.kv_heads * self.head_dim

    def layer(self, i: int) -> str:
        """The tensor-name prefix of layer ``i``."""
        return f"model.layers.{i}."

    @property
    def lm_head(self) -> str:
        """The output projection's tensor (the embedding table when tied)."""
        return "model.embed_tokens.weight" if self.tie_embeddings else "lm_head.weight"


def _int(config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConversionError(f"config.json has no valid {key!r} ({value!r}).", _FIX_SHAPES)
    return value


def read_spec(config: dict[str, Any]) -> ModelSpec:
    """The spec of a checkpoint's config.json, or ConversionError saying why Ponder cannot convert it."""
    if "auto_map" in config:
        raise ConversionError("This model needs custom Python code (auto_map in config.json).",
                              "Ponder never runs code from a model; choose a checkpoint of a standard architecture.")
    archs = config.get("architectures") or []
    arch = str(archs[0]) if isinstance(archs, list) and archs else "(none)"
    family = FAMILIES.get(arch)
    if family is None:
        raise ConversionError(f"Architecture {arch} is not supported.",
                              f"Ponder converts {', '.join(FAMILIES)} checkpoints.")
    hidden, heads = _int(config, "hidden_size"), _int(config, "num_attention_heads")
    kv_heads = _int(config, "num_key_value_heads", heads)
    head_dim = _int(config, "head_dim", hidden // heads) if config.get("head_dim") is not None else hidden // heads
    if heads % kv_heads:
        raise ConversionError(f"{heads} attention heads cannot share {kv_heads} key/value heads.", _FIX_SHAPES)
    if head_dim % 2:
        raise ConversionError(f"Head size {head_dim} is odd; rotary embeddings need an even size.", _FIX_SHAPES)
    if family == "qwen2" and config.get("use_sliding_window"):
        raise ConversionError("This Qwen2 checkpoint uses sliding-window attention, which Ponder does not convert.",
                              "Choose a checkpoint without use_sliding_window.")
    scaling = config.get("rope_scaling")
    if scaling is not None and not isinstance(scaling, dict):
        raise ConversionError(f"config.json has an invalid rope_scaling ({scaling!r}).", _FIX_SHAPES)
    activation = config.get("hidden_act", "silu")
    if activation != "silu":
        raise ConversionError(f"Activation {activation!r} is not supported (only SiLU).",
                              "Choose a Qwen2, Llama 3 or Qwen3 checkpoint.")
    return ModelSpec(
        family=family, hf_architecture=arch, hidden=hidden, intermediate=_int(config, "intermediate_size"),
        layers=_int(config, "num_hidden_layers"), heads=heads, kv_heads=kv_heads, head_dim=head_dim,
        vocab=_int(config, "vocab_size"), context=_int(config, "max_position_embeddings", 4096),
        rms_eps=float(config.get("rms_norm_eps", 1e-6)), rope_theta=float(config.get("rope_theta", 10000.0)),
        rope_scaling=scaling, tie_embeddings=bool(config.get("tie_word_embeddings", False)),
        qkv_bias=family == "qwen2" or bool(config.get("attention_bias", False)),
        o_bias=family != "qwen2" and bool(config.get("attention_bias", False)),
        mlp_bias=bool(config.get("mlp_bias", False)), qk_norm=family == "qwen3")


def expected_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Every tensor the graph reads, with the shape config.json implies."""
    h, i = spec.hidden, spec.intermediate
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (spec.vocab, h), "model.norm.weight": (h,)}
    if not spec.tie_embeddings:
        shapes["lm_head.weight"] = (spec.vocab, h)
    for n in range(spec.layers):
        p = spec.layer(n)
        shapes |= {
            f"{p}input_layernorm.weight": (h,), f"{p}post_attention_layernorm.weight": (h,),
            f"{p}self_attn.q_proj.weight": (spec.q_size, h), f"{p}self_attn.k_proj.weight": (spec.kv_size, h),
            f"{p}self_attn.v_proj.weight": (spec.kv_size, h), f"{p}self_attn.o_proj.weight": (h, spec.q_size),
            f"{p}mlp.gate_proj.weight": (i, h), f"{p}mlp.up_proj.weight": (i, h), f"{p}mlp.down_proj.weight": (h, i),
        }
        if spec.qkv_bias:
            shapes |= {f"{p}self_attn.q_proj.bias": (spec.q_size,), f"{p}self_attn.k_proj.bias": (spec.kv_size,),
                       f"{p}self_attn.v_proj.bias": (spec.kv_size,)}
        if spec.o_bias:
            shapes[f"{p}self_attn.o_proj.bias"] = (h,)
        if spec.mlp_bias:
            shapes |= {f"{p}mlp.gate_proj.bias": (i,), f"{p}mlp.up_proj.bias": (i,), f"{p}mlp.down_proj.bias": (h,)}
        if spec.qk_norm:
            shapes |= {f"{p}self_attn.q_norm.weight": (spec.head_dim,),
                       f"{p}self_attn.k_norm.weight": (spec.head_dim,)}
    return shapes


def check_tensors(spec: ModelSpec, tensors: CheckpointTensors) -> None:
    """Refuse a checkpoint whose tensors are missing, of another shape, or not floating point."""
    for name, shape in expected_shapes(spec).items():
        info = tensors.info(name)
        if info.shape != shape:
            raise ConversionError(f"Tensor {name} has shape {list(info.shape)}; config.json implies {list(shape)}.",
                                  _FIX_SHAPES)
        if info.dtype not in FLOAT_DTYPES:
            raise ConversionError(f"Tensor {name} is {info.dtype}; Ponder converts fp32, fp16 and bf16 weights.",
                                  "Choose an unquantized checkpoint.")
