"""The encoder graph written straight from safetensors (engine.documents.encoder_graph) against transformers.

Tiny random encoders of each supported architecture are built offline with transformers and saved as safetensors;
the ONNX graph's ``last_hidden_state`` must match the PyTorch model's on a padded batch. Tolerance: both sides
compute in float32 and differ only in the order of the sums (MatMul blocking, softmax and LayerNorm reductions),
which moves LayerNorm outputs of order 1 by about 1e-6 (the real all-MiniLM-L6-v2 weights: 2e-6); 1e-4 leaves room
for thread counts and still catches a wrong position, mask or activation (the weights are drawn wide, so exact and
tanh GELU differ by more than that).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.documents.embed import Embedder, export_embedder
from engine.documents.encoder_graph import (
    EncoderWriter,
    inline_weights,
    read_encoder_spec,
    relative_position_buckets,
    write_encoder,
)
from engine.system.errors import ConversionError
from tests.fixtures.embedder import minilm_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
         "max_position_embeddings": 66, "vocab_size": 120}
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "bert": ("bert", {**SMALL, "type_vocab_size": 2, "pad_token_id": 0}),
    "bert-gelu-new": ("bert", {**SMALL, "type_vocab_size": 2, "hidden_act": "gelu_new"}),
    "bert-gelu-pytorch-tanh": ("bert", {**SMALL, "type_vocab_size": 2, "hidden_act": "gelu_pytorch_tanh"}),
    "bert-gelu-fast": ("bert", {**SMALL, "type_vocab_size": 2, "hidden_act": "gelu_fast"}),
    "bert-relu": ("bert", {**SMALL, "type_vocab_size": 2, "hidden_act": "relu", "layer_norm_eps": 1e-5}),
    "roberta": ("roberta", {**SMALL, "type_vocab_size": 1, "pad_token_id": 1, "layer_norm_eps": 1e-5}),
    "xlm-roberta": ("xlm-roberta", {**SMALL, "type_vocab_size": 1, "pad_token_id": 1}),
    "electra": ("electra", {**SMALL, "embedding_size": 16, "type_vocab_size": 2, "pad_token_id": 0}),
    "distilbert": ("distilbert", {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64, "vocab_size": 120,
                                  "max_position_embeddings": 64, "pad_token_id": 0}),
    "mpnet": ("mpnet", {**SMALL, "pad_token_id": 1}),
}


def _randomize(model: Any) -> None:
    """Wide random weights (LayerNorm scales around 1), so every part of the graph moves the output."""
    import torch

    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if "norm" in name.lower() and name.endswith("weight"):
                param.copy_(1.0 + 0.2 * noise)
            else:
                param.copy_(0.25 * noise)


def tiny_encoder(dest: Path, model_type: str, config: dict[str, Any], *, head: bool = False) -> tuple[Path, Any]:
    """A random ``model_type`` encoder saved as safetensors in ``dest``; returns the folder and the PyTorch model
    (its base model when ``head`` saved it inside a masked-LM head, whose tensor names carry the model prefix)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM

    torch.manual_seed(0)
    cfg = AutoConfig.for_model(model_type, **config)
    model = (AutoModelForMaskedLM if head else AutoModel).from_config(cfg, attn_implementation="eager").eval()
    _randomize(model)
    model.save_pretrained(dest, safe_serialization=True)
    return dest, (model.base_model if head else model)


def _batch(model_type: str, config: dict[str, Any], lengths: tuple[int, ...] = (40, 23, 1, 9),
           seed: int = 1) -> dict[str, np.ndarray]:
    """A padded batch: tokens that are never the padding id, padding where the mask is 0, some token types 1."""
    rng = np.random.default_rng(seed)
    pad = int(config.get("pad_token_id", 0))
    ids = rng.integers(3, config["vocab_size"], size=(len(lengths), max(lengths)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    ids[mask == 0] = pad
    batch = {"input_ids": ids, "attention_mask": mask}
    if config.get("type_vocab_size", 0) > 1:
        types = np.zeros_like(ids)
        types[:, 7:] = 1
        batch["token_type_ids"] = types * mask
    return batch


def _torch_hidden(model: Any, batch: dict[str, np.ndarray]) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state
    return np.asarray(out.numpy(), dtype=np.float32)


def _session(model: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])


def _write(src: Path, out: Path) -> Path:
    out.mkdir()
    return inline_weights(write_encoder(src, out, json.loads((src / "config.json").read_text(encoding="utf-8"))))


@pytest.mark.parametrize("case", sorted(CASES))
def test_last_hidden_state_matches_pytorch(case: str, tmp_path: Path) -> None:
    model_type, config = CASES[case]
    src, model = tiny_encoder(tmp_path / "src", model_type, config)
    onnx_model = _write(src, tmp_path / "onnx")
    assert sorted(p.name for p in onnx_model.parent.iterdir()) == ["model.onnx"]
    session = _session(onnx_model)
    names = [i.name for i in session.get_inputs()]
    has_types = config.get("type_vocab_size", 0) > 1
    assert names == ["input_ids", "attention_mask", *(["token_type_ids"] if has_types else [])]
    assert [o.name for o in session.get_outputs()] == ["last_hidden_state"]

    batch = _batch(model_type, config)
    got = session.run(None, batch)[0]
    want = _torch_hidden(model, batch)
    assert got.dtype == np.float32 and got.shape == want.shape == (4, 40, 32)
    diff = float(np.abs(got - want).max())
    print(f"\n{case}: max abs diff vs PyTorch {diff:.2e} (padded batch, every position)")
    assert diff < TOLERANCE

    # each row alone, unpadded, gives what it gave inside the padded batch
    lengths = batch["attention_mask"].sum(axis=1)
    for row, length in enumerate(lengths):
        alone = {k: v[row:row + 1, :length] for k, v in batch.items()}
        single = session.run(None, alone)[0][0]
        assert np.abs(single - got[row, :length]).max() < 1e-5


def test_prefixed_checkpoint_and_old_layer_norm_names(tmp_path: Path) -> None:
    """A BertForMaskedLM checkpoint names its tensors ``bert.…``; old BERT checkpoints call LayerNorm's weight and
    bias gamma and beta. Both are read; the masked-LM head is ignored."""
    from safetensors.numpy import load_file, save_file

    model_type, config = CASES["bert"]
    src, model = tiny_encoder(tmp_path / "src", model_type, config, head=True)
    weights = load_file(str(src / "model.safetensors"))
    assert "bert.embeddings.word_embeddings.weight" in weights
    renamed = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
               if k.startswith("bert.encoder.") else k: v for k, v in weights.items()}
    save_file(renamed, str(src / "model.safetensors"), metadata={"format": "pt"})
    batch = _batch(model_type, config)
    got = _session(_write(src, tmp_path / "onnx")).run(None, batch)[0]
    assert np.abs(got - _torch_hidden(model, batch)).max() < TOLERANCE


def test_mpnet_buckets_match_transformers() -> None:
    import torch
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    length = 600
    distances = torch.arange(-(length - 1), length, dtype=torch.long)
    want = MPNetEncoder.relative_position_bucket(distances).numpy()
    np.testing.assert_array_equal(relative_position_buckets(length), want)


def _tiny_with_tokenizer(tmp_path: Path, model_type: str, config: dict[str, Any]) -> Path:
    """A tiny encoder with all-MiniLM-L6-v2's tokenizer (its vocabulary size), ready for export_embedder."""
    src, _ = tiny_encoder(tmp_path / f"tiny-{model_type}", model_type, {**config, "vocab_size": 30522})
    shutil.copyfile(minilm_checkpoint() / "tokenizer.json", src / "tokenizer.json")
    return src


def test_export_imports_no_torch_transformers_or_optimum(tmp_path: Path) -> None:
    src = _tiny_with_tokenizer(tmp_path, *CASES["bert"])
    dest = tmp_path / "embedder"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engine.documents.embed import Embedder, export_embedder\n"
        f"folder = export_embedder(Path({str(src)!r}), Path({str(dest)!r}), quantize=True)\n"
        "vectors = Embedder(folder).embed(['hello world', 'a longer sentence than the first one'])\n"
        "assert vectors.shape == (2, 32), vectors.shape\n"
        "loaded = [m for m in ('torch', 'transformers', 'optimum') if m in sys.modules]\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules "
        "and 'optimum' not in sys.modules, loaded\n"
        "print('clean')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PONDER_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("clean")
    meta = json.loads((dest / "embedder.json").read_text(encoding="utf-8"))
    assert meta["dims"] == 32 and meta["precision"] in ("int8", "fp32")
    assert sorted(p.name for p in dest.iterdir()) == ["embedder.json", "model.onnx", "tokenizer.json"]


def test_distilbert_exports_as_an_embedder(tmp_path: Path) -> None:
    """DistilBERT's config.json calls the hidden size ``dim``; the embedder records it as its dims."""
    src = _tiny_with_tokenizer(tmp_path, *CASES["distilbert"])
    folder = export_embedder(src, tmp_path / "embedder", quantize=False)
    emb = Embedder(folder)
    assert emb.dims == 32 and emb.meta["max_seq_length"] == 64
    assert "token_type_ids" not in emb._session.inputs
    vectors = emb.embed(["one", "two words", "and a third, longer one"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def _config(tmp_path: Path, **changes: Any) -> tuple[Path, dict[str, Any]]:
    model_type, config = CASES["bert"]
    src, _ = tiny_encoder(tmp_path / "src", model_type, config)
    data = json.loads((src / "config.json").read_text(encoding="utf-8"))
    data.update(changes)
    return src, data


@pytest.mark.parametrize(("changes", "match"), [
    ({"model_type": "gpt2"}, "not a supported sentence encoder"),
    ({"hidden_act": "quick_gelu"}, "activation 'quick_gelu' is not supported"),
    ({"position_embedding_type": "relative_key"}, "relative_key"),
    ({"is_decoder": True}, "decoder"),
    ({"hidden_size": 48}, "hidden size 48"),
])
def test_refusals(tmp_path: Path, changes: dict[str, Any], match: str) -> None:
    from engine.models.convert.safetensors_io import CheckpointTensors

    src, config = _config(tmp_path, **changes)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConversionError, match=match):
        tensors = CheckpointTensors(src)
        EncoderWriter(read_encoder_spec(config, tensors), tensors, out).build()


def test_export_embedder_refuses_an_unknown_activation_and_leaves_nothing(tmp_path: Path) -> None:
    src = _tiny_with_tokenizer(tmp_path, *CASES["bert"])
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    config["hidden_act"] = "silu"
    (src / "config.json").write_text(json.dumps(config), encoding="utf-8")
    dest = tmp_path / "models" / "emb"
    with pytest.raises(ConversionError, match="activation 'silu'"):
        export_embedder(src, dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    config["model_type"] = "deberta-v2"
    (src / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ConversionError, match="not a supported sentence encoder"):
        export_embedder(src, dest)
