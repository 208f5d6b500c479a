#!/usr/bin/env bash
# Install everything the tests need into .venv, then run the architecture contract, linters and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[dev]"
export QT_QPA_PLATFORM=offscreen
echo "== import contract (engine never imports the GUI)"
.venv/bin/lint-imports
echo "== ruff"
.venv/bin/ruff check engine desktop tests bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
