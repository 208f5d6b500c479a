"""Privacy: telemetry switched off by importing the engine, offline mode refusing every socket beyond loopback,
and the Network activity list recording exactly the connections Ponder made."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from engine.cli import main
from engine.models import hub
from engine.runtime.generate import Finished
from engine.serve.remote_chat import RemoteChatModel
from engine.serve.remote_engines import RemoteEngines
from engine.serve.remote_http import RemoteEngine
from engine.system import network_log, privacy
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, DownloadError, PonderError
from engine.system.network_log import DOWNLOAD, REMOTE, UNEXPECTED, read_activity
from engine.system.privacy import OfflineError
from tests.fixtures.hub_server import REPO_ID, HubServer
from tests.fixtures.keyrings import MemoryKeyring
from tests.fixtures.remote import FakeRemote, fake

__all__ = ["fake"]
ROOT = Path(__file__).resolve().parents[2]
TEST_NET = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never routed; a refused connect to it sends nothing anyway


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in privacy.QUIET_ENVIRONMENT
             and k not in ("PONDER_OFFLINE", "HF_HUB_OFFLINE")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          env={**clean, "PYTHONPATH": str(ROOT), **env})


@pytest.mark.parametrize("package", ["engine", "desktop"])
def test_importing_ponder_switches_telemetry_off_before_onnxruntime_loads(package: str) -> None:
    out = run_python(f"import os, sys\nimport {package}\nassert 'onnxruntime' not in sys.modules\n"
                     "import onnxruntime\n"
                     "print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['HF_HUB_DISABLE_TELEMETRY'], "
                     "os.environ['DO_NOT_TRACK'])\n"
                     "from huggingface_hub import constants\nprint(constants.HF_HUB_DISABLE_TELEMETRY)",
                     QT_QPA_PLATFORM="offscreen")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1", "True"]


def test_offline_refuses_connections_lookups_and_listening_beyond_loopback() -> None:
    privacy.set_offline(True)
    assert privacy.offline_reason() == "Offline mode is on (Settings › Privacy and network)"
    with pytest.raises(OfflineError, match=r"refused a name lookup of huggingface\.co"):
        socket.getaddrinfo("huggingface.co", 443)
    with socket.socket() as sock, pytest.raises(OfflineError, match=rf"a connection to {TEST_NET}:443"):
        sock.connect((TEST_NET, 443))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(OfflineError):
        udp.sendto(b"x", (TEST_NET, 53))
    with socket.socket() as sock, pytest.raises(OfflineError, match=r"to listen on 0\.0\.0\.0"):
        sock.bind(("0.0.0.0", 0))
    started = time.monotonic()  # whatever library asks: refused at once, not after a timeout
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{TEST_NET}/", timeout=30)
    assert time.monotonic() - started < 5
    # loopback still works: a local server and a client talking to it
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5):
            pass
    assert read_activity()[0].kind == UNEXPECTED and read_activity()[0].result.startswith("blocked:")
    privacy.set_offline(False)
    assert privacy.offline_reason() is None


def test_the_environment_forces_offline_in_a_fresh_process() -> None:
    code = ("import socket, engine\nfrom engine import privacy\nprivacy.set_offline(False)\n"
            "print(privacy.offline_reason())\n"
            f"try:\n    socket.create_connection(('{TEST_NET}', 80), timeout=5)\n"
            "except OSError as err:\n    print(type(err).__name__)")
    out = run_python(code, PONDER_OFFLINE="1")
    assert out.stdout.splitlines() == ["Offline mode is on (PONDER_OFFLINE=1 is set)", "OfflineError"], out.stderr
    assert run_python(code, HF_HUB_OFFLINE="1").stdout.splitlines()[0] == "Offline mode is on (HF_HUB_OFFLINE=1 is set)"


def test_worker_processes_inherit_the_telemetry_switches_and_offline_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in privacy.QUIET_ENVIRONMENT:
        monkeypatch.delenv(name)
    env = privacy.child_environment()
    assert all(env[k] == v for k, v in privacy.QUIET_ENVIRONMENT.items()) and "PONDER_OFFLINE" not in env
    privacy.set_offline(True)
    assert privacy.child_environment()["PONDER_OFFLINE"] == "1"


def test_a_download_is_listed_with_its_host_and_bytes_and_nothing_else(hub_env: HubServer) -> None:
    snap = hub.download_snapshot(REPO_ID)
    (record,) = read_activity()
    assert (record.kind, record.detail, record.host, record.result) == (
        DOWNLOAD, f"{REPO_ID}@main", hub_env.url.removeprefix("http://"), "ok")
    assert record.received == snap.total_bytes and record.sent == 0 and record.process
    assert record.addresses == ()  # the loopback Hub: nothing beyond this machine was reached
    hub.download_snapshot(REPO_ID)  # already there: only the Hub's file list is asked for
    assert [r.received for r in read_activity()] == [0, snap.total_bytes]


def test_a_cancelled_download_is_listed_as_cancelled(hub_env: HubServer, tmp_path: Path) -> None:
    token = CancelToken()
    hub_env.faults.stall_after["model.safetensors"] = (100_000, 5.0)

    def cancel_soon() -> None:
        time.sleep(0.5)
        token.cancel()

    threading.Thread(target=cancel_soon, daemon=True).start()
    with pytest.raises(Cancelled):
        hub.download_snapshot(REPO_ID, dest=tmp_path / "snap", cancel=token)
    assert read_activity()[0].result == "cancelled"


def test_offline_download_is_refused_before_any_request_and_listed_as_blocked(hub_env: HubServer) -> None:
    privacy.set_offline(True)
    with pytest.raises(DownloadError, match=f"Cannot download {REPO_ID}: offline mode is on"):
        hub.download_snapshot(REPO_ID)
    assert hub_env.log == []
    (record,) = read_activity()
    assert record.kind == DOWNLOAD and record.result == "blocked: Offline mode is on (Settings › Privacy and network)"


def test_remote_engine_chats_are_listed_and_refused_offline(fake: tuple[FakeRemote, str],
                                                             memory_keyring: MemoryKeyring) -> None:
    remote, url = fake
    remote.chunks = [{"content": "Hello there."}]
    model = RemoteChatModel(RemoteEngine("lab", url), "fake-r1")
    done = list(model.stream_chat([]))[-1]
    assert isinstance(done, Finished) and done.answer == "Hello there."
    RemoteEngines().add("lab", url)
    assert RemoteEngines().models("lab") == ["fake-r1"]
    models, chat = read_activity()
    assert (chat.kind, chat.detail, chat.result) == (REMOTE, "lab: chat with fake-r1", "ok")
    assert chat.sent > 50 and chat.received > len("Hello there.")
    assert (models.detail, models.result) == ("lab: models", "ok") and models.received > 0
    privacy.set_offline(True)
    asked = len(remote.requests)
    with pytest.raises(PonderError, match="Cannot reach the remote engine lab: offline mode is on"):
        list(model.stream_chat([]))
    assert len(remote.requests) == asked and read_activity()[0].result.startswith("blocked:")


def test_a_connection_outside_any_request_is_listed_as_unexpected() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # a UDP connect() sends no packet
        udp.connect((TEST_NET, 9))
    with network_log.activity(DOWNLOAD, "x", "https://mirror.example") as act, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.connect((TEST_NET, 10))
    assert act.addresses == [f"{TEST_NET}:10"]
    download, unexpected = read_activity()
    assert (unexpected.kind, unexpected.host, unexpected.detail) == (
        UNEXPECTED, f"{TEST_NET}:9", "connection outside any request")
    assert download.addresses == (f"{TEST_NET}:10",) and download.host == "mirror.example"


def test_the_list_survives_damaged_lines_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network_log, "TRIM_BYTES", 4000)
    monkeypatch.setattr(network_log, "KEEP_RECORDS", 5)
    for i in range(30):
        network_log.record_blocked(DOWNLOAD, f"repo-{i}", "https://huggingface.co", "offline")
        if i == 28:
            with network_log.log_path().open("a") as fh:
                fh.write("{not json\n")
    records = read_activity()
    assert records[0].detail == "repo-29" and 1 <= len(records) <= 30
    assert len(network_log.log_path().read_text().splitlines()) <= 30


def test_cli_shows_the_activity_and_switches_offline(hub_env: HubServer, capsys: pytest.CaptureFixture[str],
                                                     ponder_home: Path) -> None:
    hub.download_snapshot(REPO_ID)
    assert main(["network", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["offline"] is False and [r["kind"] for r in data["activity"]] == [DOWNLOAD]
    assert main(["network", "--offline", "on"]) == 0
    assert "Offline mode is on (Settings › Privacy and network)" in capsys.readouterr().out
    assert json.loads((ponder_home / "settings.json").read_text())["offline"] is True
    assert main(["pull", "deepseek-r1-distill-qwen-1.5b"]) == 1  # the CLI honours the saved switch
    assert "offline mode is on" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--allow-remote"]) == 1
    assert "Cannot serve on 0.0.0.0: offline mode is on" in capsys.readouterr().err
    assert main(["network", "--offline", "off", "--clear"]) == 0
    assert "No network activity recorded." in capsys.readouterr().out


def test_every_session_starts_with_onnx_runtime_telemetry_events_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows ETW telemetry is stopped only by disable_telemetry_events(): the one place that creates sessions
    calls it once, before the first session, whoever asks (chat model, embedder, hardware probe)."""
    import onnxruntime as ort

    from engine.system import ortsession
    from engine.system.hardware import provider_status

    calls: list[int] = []
    monkeypatch.setattr(ortsession, "_telemetry_off", False)
    monkeypatch.setattr(ort, "disable_telemetry_events", lambda: calls.append(1))
    assert provider_status("cpu").works
    assert provider_status("cpu").works
    assert calls == [1]
