"""Make llama.cpp GGUF files (f16, then Q4_0) from a Hugging Face checkpoint, for ``bench/compare_runtimes.py``.

llama.cpp's converter is not part of this repository: it is imported from an unpacked ``llama-cpp-python`` sdist
(which vendors llama.cpp, its ``convert_hf_to_gguf.py``, ``conversion/`` and ``gguf-py/``). Two small patches are
applied at run time, in this process only:

* the BPE pre-tokenizer hash check is bypassed and reports ``qwen2`` (the benchmark checkpoints carry a small,
  locally trained tokenizer whose hash llama.cpp does not know; the pre-tokenizer only affects text tokenisation,
  never model speed);
* a missing ``tokenizer.model`` makes the SentencePiece path raise ``FileNotFoundError`` before ``sentencepiece``
  is imported, so the converter falls back to its GPT-2 BPE vocabulary without needing that package.

The f16 file is then quantised to Q4_0 with ``llama_cpp.llama_model_quantize`` (needs ``llama-cpp-python``).

Usage::

    .venv/bin/pip download llama-cpp-python --no-deps --no-binary :all: -d /tmp/llamasrc
    tar xzf /tmp/llamasrc/llama_cpp_python-*.tar.gz -C /tmp/llamasrc
    .venv/bin/python bench/gguf_from_hf.py /tmp/ponder-bench/r1-qwen-1.5b-random \\
        --llama-cpp /tmp/llamasrc/llama_cpp_python-0.3.36/vendor/llama.cpp --out-dir /tmp/ponder-bench

Writes ``<out-dir>/<checkpoint name>-f16.gguf`` and ``<out-dir>/<checkpoint name>-q4_0.gguf`` (each step is
skipped when its file already exists; ``--force`` redoes both) and prints the Q4_0 path.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from pathlib import Path


def convert_f16(checkpoint: Path, llama_cpp_dir: Path, out: Path) -> None:
    """Run llama.cpp's ``convert_hf_to_gguf.py`` in this process, with the two patches described above."""
    script = llama_cpp_dir / "convert_hf_to_gguf.py"
    if not script.is_file():
        raise SystemExit(f"{script} not found: --llama-cpp must point at the vendored llama.cpp folder")
    sys.path.insert(0, str(llama_cpp_dir / "gguf-py"))
    sys.path.insert(0, str(llama_cpp_dir))
    from conversion import base  # type: ignore[import-not-found]  # llama.cpp's own package

    def vocab_pre(self: object, tokenizer: object) -> str:
        return "qwen2"

    original_sp = base.TextModel._create_vocab_sentencepiece

    def create_vocab_sentencepiece(self: base.TextModel):  # type: ignore[no-untyped-def]
        if not (Path(self.dir_model) / "tokenizer.model").is_file():
            raise FileNotFoundError(f"no tokenizer.model in {self.dir_model}")
        return original_sp(self)

    base.TextModel.get_vocab_base_pre = vocab_pre
    base.TextModel._create_vocab_sentencepiece = create_vocab_sentencepiece

    argv = sys.argv
    sys.argv = [str(script), str(checkpoint), "--outtype", "f16", "--outfile", str(out)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv


def quantize_q4_0(src: Path, dst: Path, threads: int) -> None:
    """Quantise a GGUF file to Q4_0 with llama.cpp's quantize API."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed with code {rc}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("checkpoint", type=Path, help="Hugging Face checkpoint folder (safetensors, config, tokenizer)")
    parser.add_argument("--llama-cpp", type=Path, required=True,
                        help="vendored llama.cpp folder of an unpacked llama-cpp-python sdist")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/ponder-bench"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--force", action="store_true", help="rebuild files that already exist")
    args = parser.parse_args(argv)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    f16 = args.out_dir / f"{args.checkpoint.name}-f16.gguf"
    q4 = args.out_dir / f"{args.checkpoint.name}-q4_0.gguf"
    if args.force or not f16.is_file():
        t0 = time.perf_counter()
        tmp = f16.with_suffix(".gguf.part")
        convert_f16(args.checkpoint, args.llama_cpp, tmp)
        tmp.replace(f16)
        print(f"f16 GGUF: {f16} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if args.force or not q4.is_file():
        t0 = time.perf_counter()
        tmp = q4.with_suffix(".gguf.part")
        quantize_q4_0(f16, tmp, args.threads)
        tmp.replace(q4)
        print(f"Q4_0 GGUF: {q4} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(q4)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
