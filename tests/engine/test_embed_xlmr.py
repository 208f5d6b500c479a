"""The default documents embedder (multilingual-e5-small) is an XLM-RoBERTa encoder with a SentencePiece-style
tokenizer and "query: "/"passage: " prefixes. It cannot be downloaded here, so its export path runs on a tiny
random XLM-RoBERTa of the same architecture with a Unigram tokenizer trained offline on English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.documents.embed import Embedder, export_embedder

TEXTS = ["How do I install the package?", "安装软件包的方法是什么？", "The capybara is the largest rodent.",
         "水豚是世界上最大的啮齿动物。", "Mean pooling over the attention mask."] * 20


def tiny_xlmr(dest: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig, XLMRobertaModel

    dest.mkdir(parents=True)
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(TEXTS, trainers.UnigramTrainer(vocab_size=300, special_tokens=specials,
                                                           unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.save(str(dest / "tokenizer.json"))
    config = XLMRobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                              num_attention_heads=2, intermediate_size=64, max_position_embeddings=130,
                              pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    XLMRobertaModel(config, add_pooling_layer=False).eval().save_pretrained(dest, safe_serialization=True)
    (dest / "1_Pooling").mkdir()
    (dest / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32,
                                                                 "pooling_mode_mean_tokens": True}))
    return dest


def test_xlm_roberta_exports_with_its_prefixes_and_matches_pytorch(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenizers import Tokenizer
    from transformers import XLMRobertaModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src = tiny_xlmr(tmp_path / "xlmr")
    folder = export_embedder(src, tmp_path / "e5-like", quantize=True, query_prefix="query: ",
                             passage_prefix="passage: ")
    meta = json.loads((folder / "embedder.json").read_text())
    assert meta["max_seq_length"] == 128 and meta["query_prefix"] == "query: " and meta["dims"] == 32
    emb = Embedder(folder)
    assert np.allclose(emb.embed_queries(["水豚"]), emb.embed(["query: 水豚"]), atol=1e-6)
    assert np.allclose(emb.embed_passages(["水豚"]), emb.embed(["passage: 水豚"]), atol=1e-6)

    # against PyTorch: mean pooling over the mask, unit length (int8 only if it kept the probe cosine)
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    model = XLMRobertaModel.from_pretrained(src).eval()
    sentences = TEXTS[:5]
    reference = []
    for text in sentences:
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
        vector = hidden.mean(dim=0).numpy()
        reference.append(vector / np.linalg.norm(vector))
    cos = np.sum(np.asarray(reference) * emb.embed(sentences), axis=1)
    assert cos.min() >= (0.96 if emb.precision == "int8" else 0.9999), cos
    # padding in a batch of mixed lengths changes nothing (positions count from the padding index)
    one_by_one = np.vstack([emb.embed([s]) for s in sentences])
    assert np.allclose(emb.embed(sentences), one_by_one, atol=2e-2 if emb.precision == "int8" else 1e-5)
