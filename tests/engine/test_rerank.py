"""Second-stage reranking with a cross-encoder: the classification head written on the encoder graph against
transformers, a tiny cross-encoder trained offline (tests/fixtures/cross_encoder.py) exported and run by ONNX
Runtime, retrieval that reorders its candidates by it and marks them reranked, and clear errors for what is not a
reranker."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.documents.embed import Embedder
from engine.documents.encoder_graph import inline_weights
from engine.documents.index import DocumentIndex
from engine.documents.pipeline import index_paths
from engine.documents.rerank import Reranker, export_reranker, hosted_reranker
from engine.documents.rerank_graph import write_cross_encoder
from engine.documents.retrieve import retrieve
from engine.runtime.host import ModelHost
from engine.system.errors import ConversionError, StoreError
from tests.fixtures.cross_encoder import (
    TOPICS,
    cross_encoder_checkpoint,
    pairs,
    passage,
    query,
    topic_of,
    write_tokenizer,
)
from tests.fixtures.embedder import embedder_dir

__all__ = ["cross_encoder_checkpoint", "embedder_dir"]
TOLERANCE = 1e-4  # float32 on both sides, sums in another order (see test_encoder_graph)
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
         "max_position_embeddings": 66, "vocab_size": 120, "num_labels": 1}
HEADS: dict[str, dict[str, Any]] = {
    "bert": {**SMALL, "type_vocab_size": 2, "pad_token_id": 0},
    "xlm-roberta": {**SMALL, "type_vocab_size": 1, "pad_token_id": 1},
    "roberta": {**SMALL, "type_vocab_size": 1, "pad_token_id": 1, "layer_norm_eps": 1e-5},
    "electra": {**SMALL, "embedding_size": 16, "type_vocab_size": 2, "pad_token_id": 0},
    "mpnet": {**SMALL, "pad_token_id": 1},
    "distilbert": {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64, "vocab_size": 120,
                   "max_position_embeddings": 64, "pad_token_id": 0, "num_labels": 1},
}


def _random_classifier(dest: Path, model_type: str, config: dict[str, Any]) -> Any:
    """A ``model_type`` sequence classifier with wide random weights, saved as safetensors; returns the model."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(AutoConfig.for_model(model_type, **config),
                                                           attn_implementation="eager").eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            wide = 1.0 + 0.2 * noise if "norm" in name.lower() and name.endswith("weight") else 0.25 * noise
            param.copy_(wide)
    model.save_pretrained(dest, safe_serialization=True)
    return model


@pytest.mark.parametrize("model_type", sorted(HEADS))
def test_head_logits_match_pytorch(model_type: str, tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    config = HEADS[model_type]
    model = _random_classifier(tmp_path / "src", model_type, config)
    (tmp_path / "onnx").mkdir()
    path = inline_weights(write_cross_encoder(tmp_path / "src", tmp_path / "onnx",
                                              json.loads((tmp_path / "src" / "config.json").read_text())))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits"]

    rng = np.random.default_rng(1)
    ids = rng.integers(3, 120, size=(3, 20), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, length in enumerate((20, 7, 1)):
        mask[row, :length] = 1
    ids[mask == 0] = config["pad_token_id"]
    feeds = {"input_ids": ids, "attention_mask": mask}
    if config.get("type_vocab_size", 0) > 1:
        feeds["token_type_ids"] = np.where(np.arange(20) >= 5, 1, 0)[None, :] * mask
    got = session.run(None, feeds)[0]
    with torch.no_grad():
        want = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).logits.numpy()
    assert got.shape == want.shape == (3, 1)
    assert float(np.abs(got - want).max()) < TOLERANCE
    assert float(np.abs(got - got.mean()).max()) > 1e-2  # the rows differ: the test can see a wrong head


@pytest.fixture(scope="session")
def reranker_dir(cross_encoder_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_reranker(cross_encoder_checkpoint, tmp_path_factory.mktemp("reranker") / "tiny", quantize=True)


def test_exported_reranker_scores_as_pytorch_does(cross_encoder_checkpoint: Path, reranker_dir: Path) -> None:
    import torch
    from transformers import BertForSequenceClassification

    meta = json.loads((reranker_dir / "reranker.json").read_text())
    assert meta["kind"] == "cross-encoder" and meta["precision"] in ("int8", "fp32")
    assert sorted(p.name for p in reranker_dir.iterdir()) == ["model.onnx", "reranker.json", "tokenizer.json"]
    rows = pairs(random.Random(7), 20)
    model = BertForSequenceClassification.from_pretrained(cross_encoder_checkpoint).eval()
    tok = write_tokenizer(cross_encoder_checkpoint.parent)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    encs = tok.encode_batch([(q, p) for q, p, _ in rows])
    with torch.no_grad():
        want = model(input_ids=torch.tensor([e.ids for e in encs]),
                     attention_mask=torch.tensor([e.attention_mask for e in encs]),
                     token_type_ids=torch.tensor([e.type_ids for e in encs])).logits[:, 0].numpy()
    reranker = Reranker(reranker_dir)
    got = np.concatenate([reranker.score(q, [p]) for q, p, _ in rows])  # one pair at a time: no padding
    spread = float(want.max() - want.min())
    # int8 moves each score by at most MAX_INT8_DRIFT of the spread on the probe set; fp32 matches to 1e-4
    limit = 0.1 * spread if meta["precision"] == "int8" else TOLERANCE
    assert float(np.abs(got - want).max()) < limit
    batched = reranker.score(rows[0][0], [p for _, p, _ in rows])  # one padded batch, its own order kept
    single = np.concatenate([reranker.score(rows[0][0], [p]) for _, p, _ in rows])
    assert np.allclose(batched, single, atol=1e-3 * spread)


def test_reranking_puts_the_relevant_passage_first(reranker_dir: Path) -> None:
    reranker = Reranker(reranker_dir)
    moved = 0
    for thing in ("violin", "cherry", "storm", "drill"):
        others = [t for t in TOPICS if t != topic_of(thing)]
        things = [w for w in TOPICS[topic_of(thing)] if w != thing][:2]
        candidates = [passage(TOPICS[t][:2], filler=True) for t in others] + [passage((things[0], things[1]))]
        scores = reranker.score(query(thing), candidates)
        assert int(np.argmax(scores)) == len(candidates) - 1, (thing, scores)  # from last to first
        moved += 1
    assert moved == 4


def test_retrieval_reranks_its_candidates_and_marks_them(tmp_path: Path, embedder_dir: Path,
                                                         reranker_dir: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    relevant = docs / "music.txt"
    relevant.write_text(passage(("guitar", "piano")) + "\n", encoding="utf-8")
    for name in ("fruit", "weather", "tools"):
        (docs / f"{name}.txt").write_text(passage(TOPICS[name][:2], filler=True) + "\n", encoding="utf-8")
    index = DocumentIndex(tmp_path / "d.db")
    embedder = Embedder(embedder_dir)
    list(index_paths(index, sorted(docs.iterdir()), embedder, collection="c"))
    question = query("violin")

    plain = retrieve(index, embedder, "c", question, top_k=4)
    assert plain and not any(s.reranked for s in plain)
    ranked_plain = [Path(s.hit.path).name for s in plain]
    # the keyword side matches "inventory" in the wrong passages: without reranking the right one is not first
    assert ranked_plain[0] != "music.txt", ranked_plain
    assert "music.txt" in ranked_plain

    reranker = Reranker(reranker_dir)
    sources = retrieve(index, embedder, "c", question, top_k=2, reranker=reranker)
    assert Path(sources[0].hit.path).name == "music.txt"
    assert len(sources) == 2 and all(s.reranked for s in sources)
    assert [s.number for s in sources] == [1, 2]
    scores = [s.rerank_score for s in sources]
    assert scores[0] is not None and scores[1] is not None and scores[0] > scores[1]
    kept = sources[0].to_dict()
    assert kept["reranked"] is True and kept["rerank_score"] == pytest.approx(scores[0], abs=1e-5)
    assert plain[0].to_dict()["reranked"] is False and plain[0].to_dict()["rerank_score"] is None
    index.close()


def test_the_model_host_owns_the_loaded_reranker(reranker_dir: Path) -> None:
    host = ModelHost()
    try:
        first = host.submit(lambda: hosted_reranker(host, reranker_dir)).result(timeout=60)
        again = host.submit(lambda: hosted_reranker(host, reranker_dir)).result(timeout=60)
        assert first is again and isinstance(first, Reranker)
        assert first.score(query("rain"), [passage(("snow", "wind"))]).shape == (1,)
    finally:
        host.close()


def test_what_is_not_a_reranker_is_a_clear_error(tmp_path: Path, reranker_dir: Path, embedder_dir: Path) -> None:
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    tiny = {"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 32, "max_position_embeddings": 32}
    # an embedding model (a bare encoder) has no classification head
    bare = tmp_path / "bare"
    BertModel(BertConfig(**tiny)).save_pretrained(bare, safe_serialization=True)
    write_tokenizer(bare)
    with pytest.raises(ConversionError, match="no sequence-classification head") as err:
        export_reranker(bare, tmp_path / "out-bare")
    assert "cross-encoder" in err.value.hint
    # a classifier with two outputs is not a relevance score
    two = tmp_path / "two"
    BertForSequenceClassification(BertConfig(**tiny, num_labels=2)).save_pretrained(two, safe_serialization=True)
    write_tokenizer(two)
    with pytest.raises(ConversionError, match="2 outputs"):
        export_reranker(two, tmp_path / "out-two")
    assert not (tmp_path / "out-bare").exists() and not (tmp_path / "out-two").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out-")]  # nothing half-made

    with pytest.raises(StoreError, match="holds no reranker"):
        Reranker(tmp_path / "missing")
    with pytest.raises(StoreError, match="holds no reranker"):
        Reranker(embedder_dir)  # an embedder folder is not a reranker
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("reranker.json", "tokenizer.json"):
        (damaged / name).write_bytes((reranker_dir / name).read_bytes())
    (damaged / "model.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(StoreError, match="cannot be loaded"):
        Reranker(damaged)
    (damaged / "reranker.json").write_text("{broken")
    with pytest.raises(StoreError, match="damaged"):
        Reranker(damaged)
