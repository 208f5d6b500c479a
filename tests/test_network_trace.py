"""Nothing leaves the machine: every way a person uses Ponder, under a system-call trace of each connect().

Each scenario runs in its own process tree under ``strace -f`` (tests/fixtures/nettrace.py) and stays alive at least
LIVE_S seconds, because ONNX Runtime's telemetry client uploads about ten seconds after a session starts. The
processes get an environment *without* the telemetry switches, so Ponder itself must set them (engine.system.privacy). A
control run of a plain ONNX Runtime session, without the switch, proves the trace sees that telemetry when it is on.
The frozen app gets the same trace in scripts/installer_smoke.sh.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from engine.system.privacy import QUIET_ENVIRONMENT
from tests.fixtures.documents import markdown_file, text_pdf
from tests.fixtures.embedder import embedder_dir
from tests.fixtures.hub_server import HubServer, tiny_model_entry
from tests.fixtures.nettrace import CI_MARKERS, connections, left_the_machine, strace_command
from tests.fixtures.scans import scanned_pdf

__all__ = ["embedder_dir"]
ROOT = Path(__file__).resolve().parents[1]
LIVE_S = 20.0
TIMEOUT_S = 300.0
PONDER = Path(sys.executable).with_name("ponder")

CONTROL = """
import sys, time
import numpy as np, onnx, onnxruntime as ort
from onnx import TensorProto, helper
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
session = ort.InferenceSession(helper.make_model(graph).SerializeToString(), providers=["CPUExecutionProvider"])
print(session.run(None, {"x": np.ones(1, np.float32)})[0], flush=True)
time.sleep(float(sys.argv[1]))
"""


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """This environment without the telemetry switches (the test process has them: it imported engine), so
    the child must set them itself, and without the variables that tell ONNX Runtime it runs in CI (a person's
    computer has none); a data folder of its own; no keyring (``ponder serve`` prints its key)."""
    dropped = {*QUIET_ENVIRONMENT, *CI_MARKERS, "PONDER_OFFLINE", "HF_HUB_OFFLINE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"PONDER_HOME": str(home), "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PYTHONUNBUFFERED": "1", **extra})
    return env


@dataclass
class Traced:
    """One scenario: its command under the trace, its output and how long it lived."""

    name: str
    log: Path
    proc: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    lived_s: float = 0.0
    out: str = ""
    err: str = ""

    def wait(self) -> Traced:
        self.out, self.err = self.proc.communicate(timeout=TIMEOUT_S)
        self.lived_s = time.monotonic() - self.started
        return self

    def outside(self) -> list[str]:
        return [str(c) for c in left_the_machine(self.log)]


def trace(name: str, command: list[str], env: dict[str, str], logs: Path) -> Traced:
    """Start ``command`` under the trace (its log is ``logs/<name>.strace``)."""
    log = logs / f"{name}.strace"
    proc = subprocess.Popen([*strace_command(log), *command], cwd=ROOT, env=env, text=True, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Traced(name, log, proc)


def make_home(root: Path, model: Path) -> Path:
    """A data folder with the tiny model installed as "tiny" and greedy, short replies on the CPU."""
    root.mkdir(parents=True)
    shutil.copytree(model, root / "models" / "tiny")
    (root / "settings.json").write_text(json.dumps({"provider": "cpu", "temperature": 0.0, "max_tokens": 60,
                                                    "context_length": 512}))
    return root


@pytest.fixture
def scenarios(converted: dict[tuple[str, str], Path], tiny_checkpoints: dict[str, Path], embedder_dir: Path,
              tmp_path: Path) -> Iterator[dict[str, Traced]]:
    """Every scenario at once (they mostly wait), each under its own trace."""
    logs = tmp_path / "traces"
    logs.mkdir()
    model = converted[("qwen2", "int4")]
    library = tmp_path / "library"
    library.mkdir()
    text_pdf(library / "manual.pdf", ["Installing Ponder.", "The capybara is the largest living rodent."])
    markdown_file(library / "guide.md")
    scanned_pdf(library / "scan.pdf", [["Puffins nest on steep sea cliffs"]])  # OCR (ONNX Runtime) in the sandbox
    live = str(LIVE_S)
    linger = [sys.executable, "-m", "tests.fixtures.linger", live]
    started: dict[str, Traced] = {}

    def start(name: str, command: list[str], **extra: str) -> None:
        env = clean_environment(make_home(tmp_path / name, model), **extra)
        started[name] = trace(name, command, env, logs)

    control_env = clean_environment(tmp_path / "control-home")
    started["control"] = trace("control", [sys.executable, "-c", CONTROL, live], control_env, logs)
    start("window", [sys.executable, "-m", "tests.fixtures.window_session", live])
    start("run", [*linger, "run", "tiny", "What is 2+2?", "--max-tokens", "60", "--temperature", "0",
                  "--provider", "cpu"])
    start("docs", [*linger, "docs", "add", str(library), "::", "docs", "search", "largest rodent", "--json", "::",
                   "docs", "ask", "Which rodent is the largest?", "--model", "tiny", "--max-tokens", "60",
                   "--provider", "cpu"], PONDER_EMBEDDER=str(embedder_dir))
    start("convert", [*linger, "convert", str(tiny_checkpoints["qwen2"]), "--name", "fresh", "--precision", "int4",
                      "--provider", "cpu"])
    start("serve", [str(PONDER), "serve", "--port", "0", "--provider", "cpu"])
    try:
        yield started
    finally:
        for traced in started.values():  # the whole process group: strace and everything it traces
            with contextlib.suppress(ProcessLookupError):
                os.killpg(traced.proc.pid, signal.SIGKILL)
            traced.proc.communicate()


def ask_the_server(serve: Traced) -> str:
    """Wait for ``ponder serve`` to say where it listens, ask it one question, keep it up until LIVE_S, stop it."""
    assert serve.proc.stdout is not None
    line = serve.proc.stdout.readline()
    match = re.search(r"API at (\S+) .*only[^:]*: (\S+)\)", line)
    assert match, f"ponder serve said {line!r}"
    url, key = match.group(1), match.group(2)
    reply = httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=120,
                       json={"model": "tiny", "max_tokens": 40, "temperature": 0,
                             "messages": [{"role": "user", "content": "What is 2+2?"}]})
    assert reply.status_code == 200, reply.text
    time.sleep(max(0.0, LIVE_S - (time.monotonic() - serve.started)))
    for child in psutil.Process(serve.proc.pid).children():  # Ctrl+C to ponder itself (strace would detach)
        child.send_signal(signal.SIGINT)
    return str(reply.json()["choices"][0]["message"]["content"])


def test_nothing_leaves_the_machine_in_any_way_ponder_is_used(scenarios: dict[str, Traced]) -> None:
    answer = ask_the_server(scenarios["serve"])
    done = {name: traced.wait() for name, traced in scenarios.items()}

    # the control: a plain ONNX Runtime session without the switch is caught looking up Microsoft's collector
    control = done["control"]
    assert control.proc.returncode == 0, control.err
    assert any(c.port == 53 for c in left_the_machine(control.log)), (
        "the trace did not see ONNX Runtime's telemetry lookups without ORT_DISABLE_TELEMETRY: the trace or the "
        "control is broken, so the checks below would prove nothing")

    # each scenario did what a person would do, stayed alive long enough, and nothing left the machine
    assert "answered:" in done["window"].out, done["window"].err
    assert done["run"].proc.returncode == 0 and "4" in done["run"].out, done["run"].err
    assert done["docs"].proc.returncode == 0 and "capybara" in done["docs"].out, done["docs"].err
    assert re.search(r"indexed \S*scan\.pdf", done["docs"].out), done["docs"].out  # read by OCR, traced too
    assert done["convert"].proc.returncode == 0 and "Ready: fresh" in done["convert"].out, done["convert"].err
    assert done["serve"].proc.returncode == 0 and answer, done["serve"].err
    for name in ("window", "run", "docs", "convert", "serve"):
        traced = done[name]
        assert traced.lived_s >= LIVE_S, f"{name} lived only {traced.lived_s:.1f} s"
        assert traced.outside() == [], f"{name} connected beyond this machine: {traced.outside()}"
    # the trace really watched each program from its start, and followed the worker processes it started
    assert '"serve", "--port", "0"' in done["serve"].log.read_text().splitlines()[0]
    assert "engine.models.convert.worker" in done["convert"].log.read_text(), "the conversion worker was not traced"
    assert "_extract-worker" in done["docs"].log.read_text() or "engine.documents.sandbox" in \
        done["docs"].log.read_text(), "the parsing sandbox was not traced"


def tiny_catalog(path: Path, hub: HubServer) -> Path:
    path.write_text(json.dumps({"version": 1, "models": [tiny_model_entry(hub.repo_id)], "embedders": []}))
    return path


@pytest.mark.parametrize("switch", ["PONDER_OFFLINE", "settings"])
def test_offline_pull_opens_no_socket_and_says_why(switch: str, tiny_checkpoints: dict[str, Path],
                                                   tmp_path: Path) -> None:
    hub = HubServer(tiny_checkpoints["qwen2"], "ponder-test/tiny-r1").start()
    try:
        home = tmp_path / "home"
        home.mkdir()
        extra = {"PONDER_CATALOG": str(tiny_catalog(tmp_path / "catalog.json", hub)), "HF_ENDPOINT": hub.url}
        if switch == "PONDER_OFFLINE":
            extra["PONDER_OFFLINE"] = "1"
        else:  # the switch a person flips in Settings › Privacy and network, saved in settings.json
            (home / "settings.json").write_text(json.dumps({"offline": True}))
        command = [sys.executable, "-m", "tests.fixtures.linger", str(LIVE_S), "pull", "tiny-r1", "--provider",
                   "cpu"]
        traced = trace("pull", command, clean_environment(home, **extra), tmp_path).wait()
    finally:
        hub.stop()
    assert traced.proc.returncode == 1
    assert "Cannot download ponder-test/tiny-r1: offline mode is on" in traced.err, traced.err
    assert [str(c) for c in connections(traced.log)] == []  # not even loopback: nothing was tried
    assert hub.log == []
    assert traced.lived_s >= LIVE_S
    records = [json.loads(line) for line in (home / "network.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["result"][:8]) for r in records] == [("download", "blocked:")]
