#!/usr/bin/env bash
# The prepared GPU check (issue 14/16): run on the device machine as ONE command, e.g. through the device tool:
#   bash bench/gpu_check.sh            (about 6-8 minutes on an H200; prints figures, see bench/gpu_check.py)
# Wheels the machine lacks (onnxruntime-gpu, onnxruntime-genai-cuda, platformdirs, keyring) travel in .whl/
# (git-ignored; see the device tool's README for how to download them for its Python): installed into
# /tmp/site first, so nothing of the image is changed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "FAIL: could not install the carried wheels"; exit 1; }
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 ORT_DISABLE_TELEMETRY=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "(no nvidia-smi)"
exec timeout "${GPU_CHECK_TIMEOUT:-540}" "$PY" bench/gpu_check.py "$@"
