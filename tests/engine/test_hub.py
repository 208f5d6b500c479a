"""engine.models.hub against a real loopback Hub server: planning, safe names, resume, verification, cancel, tokens."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.models import hub, hub_repo
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, DiskSpaceError, DownloadError, UnsafeNameError, VerificationError
from engine.system.progress import Progress
from engine.system.secrets import TokenStore
from tests.fixtures.hub_server import COMMIT, REPO_ID, HubServer
from tests.fixtures.keyrings import MemoryKeyring

pytestmark = pytest.mark.usefixtures("memory_keyring")  # every test gets an empty in-memory keyring

ALLOWED = ["README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json"]
BIG = "model.safetensors"




@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "BACKOFF_S", 0.01)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dest_for(home: Path) -> Path:
    return home / "downloads" / REPO_ID.replace("/", "--") / COMMIT


def range_start(value: str | None) -> int:
    assert value is not None and value.startswith("bytes=")
    return int(value[len("bytes="):].split("-")[0])


def assert_not_complete(dest: Path) -> None:
    assert not (dest / hub.COMPLETE_FILE).exists()
    assert not hub.is_complete_snapshot(dest)


# --- endpoint and file types -------------------------------------------------------------------------------

def test_hub_endpoint_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hub_repo.hub_endpoint() == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example/")
    assert hub_repo.hub_endpoint() == "https://mirror.example"
    assert hub_repo.hub_endpoint("http://127.0.0.1:9/") == "http://127.0.0.1:9"


@pytest.mark.parametrize("name", ["model.safetensors", "a/b/model-00001-of-00002.safetensors", "config.json",
                                  "onnx/model.onnx", "onnx/model.onnx.data", "model.onnx_data", "tokenizer.model",
                                  "cl100k.tiktoken", "vocab.txt", "merges.txt", "chat_template.jinja", "README.md",
                                  "MODEL.SAFETENSORS"])
def test_allowed_files(name: str) -> None:
    assert hub_repo.is_allowed_file(name)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "model.pth", "optimizer.pkl", "modeling.py",
                                  "model.ckpt", "tf_model.h5", "flax_model.msgpack", ".gitattributes",
                                  "model.safetensors.py", "model.gguf", "archive.zip", "config.json.bin"])
def test_disallowed_files(name: str) -> None:
    assert not hub_repo.is_allowed_file(name)


# --- happy path ----------------------------------------------------------------------------------------------

def test_happy_path_uses_hf_endpoint_from_env_and_ends_complete(hub_env: HubServer, ponder_home: Path) -> None:
    snap = hub.download_snapshot(REPO_ID)  # HF_ENDPOINT was set after engine.models.hub was imported

    dest = dest_for(ponder_home)
    assert snap.path == dest and snap.commit == COMMIT and snap.revision == "main"
    repo = hub_env.files()
    assert sorted(f.name for f in snap.files) == ALLOWED
    for name in ALLOWED:
        assert (dest / name).read_bytes() == repo[name]
    assert snap.total_bytes == sum(len(repo[n]) for n in ALLOWED)
    big = next(f for f in snap.files if f.name == BIG)
    assert big.sha256 == sha256(repo[BIG]) and big.git_sha1 is None
    small = next(f for f in snap.files if f.name == "config.json")
    assert small.sha256 is None and small.git_sha1 is not None
    assert hub.is_complete_snapshot(dest)
    assert hub.load_snapshot(dest) == snap
    record = json.loads((dest / hub.COMPLETE_FILE).read_text())
    assert record["commit"] == COMMIT and len(record["files"]) == len(ALLOWED)
    assert not list(dest.rglob("*.incomplete"))
    api = [r for r in hub_env.log if r.path.startswith("/api/models/")]
    assert api and "blobs=True" in api[0].query
    # Files are fetched at the resolved commit, never at a moving branch.
    assert all(f"/resolve/{COMMIT}/" in r.path for r in hub_env.resolve_requests())

    # A second call finds everything verified and fetches nothing.
    before = len(hub_env.resolve_requests())
    assert hub.download_snapshot(REPO_ID).commit == COMMIT
    assert len(hub_env.resolve_requests()) == before


def test_disallowed_types_are_never_fetched(hub_env: HubServer, tmp_path: Path) -> None:
    commit, files, skipped = hub_repo.plan_download(REPO_ID)
    assert commit == COMMIT
    assert sorted(skipped) == ["modeling_evil.py", "optimizer.pkl", "pytorch_model.bin"]
    assert sorted(f.name for f in files) == ALLOWED

    hub.download_snapshot(REPO_ID, dest=tmp_path / "snap")
    fetched = {r.path.rsplit("/", 1)[-1] for r in hub_env.resolve_requests()}
    assert fetched and not fetched & {"modeling_evil.py", "optimizer.pkl", "pytorch_model.bin"}
    assert not any((tmp_path / "snap").rglob("*.bin")) and not any((tmp_path / "snap").rglob("*.py"))


def test_subfolder_and_allow_patterns_restrict_the_plan(hub_env: HubServer, tmp_path: Path) -> None:
    _, files, _ = hub_repo.plan_download(REPO_ID, subfolder="onnx")
    assert [f.name for f in files] == ["onnx/model.onnx"]
    snap = hub.download_snapshot(REPO_ID, dest=tmp_path / "s", allow_patterns=["*.json", "onnx/*"])
    assert sorted(f.name for f in snap.files) == ["config.json", "onnx/model.onnx", "tokenizer.json"]
    assert not (tmp_path / "s" / BIG).exists()


# --- resume ------------------------------------------------------------------------------------------------

def test_dropped_connection_is_resumed_with_range(hub_env: HubServer, tmp_path: Path) -> None:
    cut = 1024 * 1024 + 7
    hub_env.faults.drop_after[BIG] = (cut, 2)  # the first two responses stop after `cut` body bytes

    hub.download_snapshot(REPO_ID, dest=tmp_path / "s")

    reqs = hub_env.resolve_requests(BIG)
    assert reqs[0].range is None
    starts = [range_start(r.range) for r in reqs[1:]]  # what was written before each drop (whole chunks)
    assert len(starts) == 2 and 0 < starts[0] <= cut < starts[1] <= 2 * cut
    assert [r.status for r in reqs] == [200, 206, 206]
    assert sha256((tmp_path / "s" / BIG).read_bytes()) == sha256(hub_env.files()[BIG])
    assert hub.is_complete_snapshot(tmp_path / "s")


def test_cancelled_download_resumes_in_next_call(hub_env: HubServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "CHUNK_SIZE", 64 * 1024)
    monkeypatch.setattr(hub, "PROGRESS_INTERVAL_S", 0.0)
    hub_env.faults.slow_chunk_s = 0.002
    dest, token = tmp_path / "s", CancelToken()

    def cancel_mid_file(p: Progress) -> None:
        if p.message == BIG and p.done > 1024 * 1024:
            token.cancel()

    with pytest.raises(Cancelled):
        hub.download_snapshot(REPO_ID, dest=dest, progress=cancel_mid_file, cancel=token)
    assert_not_complete(dest)
    partial = dest / hub.PARTIAL_DIR / f"{BIG}.incomplete"
    kept = partial.stat().st_size
    assert 0 < kept < len(hub_env.files()[BIG])
    assert not (dest / BIG).exists()

    hub.download_snapshot(REPO_ID, dest=dest)

    second = hub_env.resolve_requests(BIG)[-1]
    assert second.status == 206 and range_start(second.range) == kept > 0
    assert (dest / BIG).read_bytes() == hub_env.files()[BIG]
    assert hub.is_complete_snapshot(dest) and not partial.exists()


def test_416_on_resume_restarts_from_zero(hub_env: HubServer, tmp_path: Path) -> None:
    hub_env.faults.drop_after[BIG] = (500_000, 1)
    hub_env.faults.range_416.add(BIG)

    hub.download_snapshot(REPO_ID, dest=tmp_path / "s")

    reqs = hub_env.resolve_requests(BIG)
    assert [(r.range is not None, r.status) for r in reqs] == [(False, 200), (True, 416), (False, 200)]
    assert (tmp_path / "s" / BIG).read_bytes() == hub_env.files()[BIG]
    assert hub.is_complete_snapshot(tmp_path / "s")


def test_server_ignoring_range_restarts_from_zero(hub_env: HubServer, tmp_path: Path) -> None:
    hub_env.faults.drop_after[BIG] = (500_000, 1)
    hub_env.faults.ignore_range.add(BIG)

    hub.download_snapshot(REPO_ID, dest=tmp_path / "s")

    reqs = hub_env.resolve_requests(BIG)
    assert [(r.range is not None, r.status) for r in reqs] == [(False, 200), (True, 200)]
    assert (tmp_path / "s" / BIG).read_bytes() == hub_env.files()[BIG]


def test_partial_larger_than_expected_is_discarded(hub_env: HubServer, tmp_path: Path) -> None:
    dest = tmp_path / "s"
    partial = dest / hub.PARTIAL_DIR / f"{BIG}.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x" * (len(hub_env.files()[BIG]) + 10))

    hub.download_snapshot(REPO_ID, dest=dest)

    assert [r.range for r in hub_env.resolve_requests(BIG)] == [None]
    assert (dest / BIG).read_bytes() == hub_env.files()[BIG]


def test_gives_up_after_repeated_failures(hub_env: HubServer, tmp_path: Path) -> None:
    hub_env.faults.drop_after["config.json"] = (0, 100)  # every response closes before any body byte

    with pytest.raises(DownloadError, match=r"config\.json failed 5 times in a row") as err:
        hub.download_snapshot(REPO_ID, dest=tmp_path / "s")
    assert not isinstance(err.value, VerificationError)
    assert len(hub_env.resolve_requests("config.json")) == hub.MAX_ATTEMPTS
    assert_not_complete(tmp_path / "s")


def test_drops_that_make_progress_do_not_exhaust_retries(hub_env: HubServer, tmp_path: Path) -> None:
    hub_env.faults.drop_after[BIG] = (500_000, 100)  # every response drops, but each one gets further

    hub.download_snapshot(REPO_ID, dest=tmp_path / "s")

    assert len(hub_env.resolve_requests(BIG)) > hub.MAX_ATTEMPTS
    assert (tmp_path / "s" / BIG).read_bytes() == hub_env.files()[BIG]


def test_hidden_and_reserved_names_are_skipped(hub_env: HubServer, tmp_path: Path) -> None:
    (hub_env.root / ".ponder-complete.json").write_text('{"files": []}')
    (hub_env.root / ".hidden").mkdir()
    (hub_env.root / ".hidden" / "x.json").write_text("{}")

    _, files, skipped = hub_repo.plan_download(REPO_ID)

    assert {".ponder-complete.json", ".hidden/x.json"} <= set(skipped)
    assert not any(f.name.startswith(".") for f in files)


def test_fixture_speaks_the_hub_protocol(hub_env: HubServer) -> None:
    """huggingface_hub's own metadata call (HEAD) understands the loopback server."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    meta = get_hf_file_metadata(hf_hub_url(REPO_ID, BIG, endpoint=hub_env.url), token=False)
    assert meta.commit_hash == COMMIT and meta.size == len(hub_env.files()[BIG])
    assert meta.etag == sha256(hub_env.files()[BIG])


def test_verified_files_are_not_fetched_again(hub_env: HubServer, tmp_path: Path) -> None:
    dest = tmp_path / "s"
    hub.download_snapshot(REPO_ID, dest=dest)
    (dest / "config.json").unlink()
    (dest / hub.STATE_FILE).unlink()  # lost state: present files are re-hashed, not re-downloaded
    before = len(hub_env.resolve_requests())

    hub.download_snapshot(REPO_ID, dest=dest)

    assert [r.path.rsplit("/", 1)[-1] for r in hub_env.resolve_requests()[before:]] == ["config.json"]
    assert hub.is_complete_snapshot(dest)


# --- verification --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [BIG, "config.json"])  # LFS sha256 and git blob sha1
def test_flipped_byte_fails_verification_and_deletes_file(hub_env: HubServer, tmp_path: Path, name: str) -> None:
    hub_env.faults.flip_byte.add(name)
    dest = tmp_path / "s"

    with pytest.raises(VerificationError) as err:
        hub.download_snapshot(REPO_ID, dest=dest)

    msg = str(err.value)
    assert name in msg and "expected" in msg and "got" in msg and "mirror may be corrupt" in msg
    assert not (dest / name).exists()
    assert not (dest / hub.PARTIAL_DIR / f"{name}.incomplete").exists()
    assert_not_complete(dest)


@pytest.mark.parametrize("delta", [5, -5])
def test_wrong_size_in_metadata_is_refused(hub_env: HubServer, tmp_path: Path, delta: int) -> None:
    hub_env.faults.wrong_size[BIG] = delta
    dest = tmp_path / "s"

    with pytest.raises(DownloadError, match=BIG):
        hub.download_snapshot(REPO_ID, dest=dest)
    assert not (dest / BIG).exists()
    assert_not_complete(dest)


@pytest.mark.parametrize("hostile", ["../evil.json", "/etc/evil.json", "C:\\evil.json", "a/../../evil.json",
                                     "evil\x00.json", "./evil.json"])
def test_hostile_name_fails_the_whole_plan(hub_env: HubServer, tmp_path: Path, hostile: str) -> None:
    hub_env.faults.hostile_names.append(hostile)
    dest = tmp_path / "deep" / "s"

    with pytest.raises(UnsafeNameError) as err:
        hub.download_snapshot(REPO_ID, dest=dest)

    assert repr(hostile) in str(err.value)
    assert hub_env.resolve_requests() == []
    assert not dest.exists()
    assert not [p for p in tmp_path.rglob("*") if "evil" in p.name]


# --- cancel, tokens, disk, progress, errors ------------------------------------------------------------------

def test_cancel_during_stall_returns_promptly(hub_env: HubServer, tmp_path: Path) -> None:
    hub_env.faults.stall_after[BIG] = (100_000, 30.0)
    token, cancelled_at = CancelToken(), []

    def cancel_when_stalled() -> None:
        while not hub_env.resolve_requests(BIG):
            time.sleep(0.01)
        time.sleep(0.5)
        cancelled_at.append(time.monotonic())
        token.cancel()

    threading.Thread(target=cancel_when_stalled, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        hub.download_snapshot(REPO_ID, dest=tmp_path / "s", cancel=token)
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 1.5
    assert time.monotonic() - start < 10
    assert_not_complete(tmp_path / "s")


def test_token_from_store_is_sent_as_bearer(hub_env: HubServer, tmp_path: Path, memory_keyring: MemoryKeyring,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hub_env.faults.require_token = "hf_SeCrEt123"
    TokenStore().set("hf_SeCrEt123")
    assert memory_keyring.store  # stored in the (test) keyring, not in memory or on disk

    hub.download_snapshot(REPO_ID, dest=tmp_path / "s")

    assert hub_env.log and all(r.authorized for r in hub_env.log)
    assert all(r.status in (200, 206) for r in hub_env.log)
    assert "hf_SeCrEt123" not in caplog.text
    assert "hf_SeCrEt123" not in "".join(p.read_text() for p in (tmp_path / "s").glob(".ponder-*.json"))


def test_missing_token_gives_clear_error(hub_env: HubServer, tmp_path: Path) -> None:
    hub_env.faults.require_token = "hf_SeCrEt123"
    TokenStore().set("hf_SeCrEt123")

    with pytest.raises(DownloadError, match="token") as err:
        hub.download_snapshot(REPO_ID, dest=tmp_path / "s", token=False)  # False: send none
    assert "hf_SeCrEt123" not in str(err.value)
    assert not any(r.authorized for r in hub_env.log)

    with pytest.raises(DownloadError, match="token"):
        hub.download_snapshot(REPO_ID, dest=tmp_path / "s", token="hf_wrong")


def test_disk_space_is_checked_before_any_byte(hub_env: HubServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.disk_usage

    def tiny(path: Any) -> Any:
        return real(path)._replace(free=1_000_000)

    monkeypatch.setattr(shutil, "disk_usage", tiny)
    with pytest.raises(DiskSpaceError, match=r"needs .* free") as err:
        hub.download_snapshot(REPO_ID, dest=tmp_path / "s")
    assert "1.0 MB free" in str(err.value)
    assert hub_env.resolve_requests() == []


def test_progress_is_monotonic_and_ends_at_total(hub_env: HubServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "CHUNK_SIZE", 64 * 1024)
    hub_env.faults.drop_after[BIG] = (500_000, 1)  # a resume must not make progress go backwards
    reports: list[Progress] = []

    snap = hub.download_snapshot(REPO_ID, dest=tmp_path / "s", progress=reports.append)

    done = [p.done for p in reports]
    assert len(reports) >= len(ALLOWED)
    assert done == sorted(done)
    assert all(p.stage == "download" and p.total == snap.total_bytes and p.rate >= 0 for p in reports)
    assert done[-1] == snap.total_bytes
    assert {p.message for p in reports} >= set(ALLOWED)


def test_offline_mode_refuses_before_any_request(hub_env: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="offline mode"):
        hub.download_snapshot(REPO_ID)
    assert hub_env.log == []


def test_unknown_repo_and_revision(hub_env: HubServer) -> None:
    with pytest.raises(DownloadError, match="not found"):
        hub.download_snapshot("ponder-test/missing")
    with pytest.raises(DownloadError, match="not found"):
        hub.download_snapshot(REPO_ID, revision="no-such-branch")
    with pytest.raises(UnsafeNameError):
        hub.download_snapshot("../../etc")


def test_load_snapshot_refuses_incomplete_folder(tmp_path: Path) -> None:
    assert not hub.is_complete_snapshot(tmp_path)
    with pytest.raises(DownloadError):
        hub.load_snapshot(tmp_path)
