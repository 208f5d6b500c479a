"""Make the Python environment an installer variant is frozen from: Ponder's dependencies (requirements/constraints.txt
pins), PyInstaller, and exactly one ONNX Runtime distribution -- the variant's.

    python installers/prepare_env.py linux-x86_64 --venv build/venv-linux-x86_64

Runs with the Python that should be frozen (3.11+) on the variant's own OS. Steps: create the venv; install
``.[installers]`` (the app's runtime dependencies, no dev extra: no torch, transformers or onnxruntime-genai, which
only the tests use); uninstall every ONNX Runtime distribution that is not the variant's (and any onnxruntime-genai
left in a reused venv); install the variant's requirement file. installers/ponder.spec refuses to build from an
environment with a different ONNX Runtime set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
ORT_DISTS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")
# No longer part of the app; uninstalled should a reused venv still hold them (they pin an ORT of their own).
GENAI_DISTS = ("onnxruntime-genai", "onnxruntime-genai-cuda", "onnxruntime-genai-directml")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def run(*cmd: object) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    variants = json.loads((ROOT / "installers" / "variants.json").read_text(encoding="utf-8"))["variants"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=sorted(variants))
    parser.add_argument("--venv", type=Path, help="default: build/venv-<variant>")
    args = parser.parse_args(argv)
    variant = variants[args.variant]
    venv = args.venv or ROOT / "build" / f"venv-{args.variant}"
    py = venv_python(venv)
    if not py.exists():
        run(sys.executable, "-m", "venv", venv)
    pip = [py, "-m", "pip"]
    run(*pip, "install", "-q", "--upgrade", "pip")
    run(*pip, "install", "-q", "-c", CONSTRAINTS, "-e", ".[installers]")
    others = [d for d in (*ORT_DISTS, *GENAI_DISTS) if d != variant["onnxruntime"]]
    run(*pip, "uninstall", "-y", "-q", *others)  # pip only warns about the ones that are not installed
    run(*pip, "install", "-q", "-c", CONSTRAINTS, "-r", ROOT / variant["requirements"])
    run(py, "-c", "import onnxruntime as o; print('ONNX Runtime', o.__version__, o.get_available_providers())")
    print(f"ready: {venv} for {args.variant}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
