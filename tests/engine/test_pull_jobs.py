"""Pull jobs (engine.models.pulljobs, engine.system.pidlock): one record per model that ``ponder pull`` and the
Models page share,
a lock that keeps two processes off the same model, resuming after Ctrl+C or a killed process, and clean-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.cli import main
from engine.models.pulljobs import JobKind, JobState, PullSpec, Stage, discard_job, job_status, list_jobs, remember
from engine.models.store import list_installed, staging_dir
from engine.system.paths import downloads_dir, ponder_home
from engine.system.pidlock import LockedError, hold, lock_owner
from tests.fixtures import pulls
from tests.fixtures.hub_server import COMMIT, HubServer, tiny_model_entry
from tests.fixtures.pulls import NAME, WEIGHTS, cli_pull, fetch_count, partial_weights, resumed, stop, wait_for

slow_hub = pulls.slow_hub
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C and SIGKILL as on a POSIX terminal")


@posix_only
def test_a_second_process_is_refused_and_ctrl_c_leaves_the_pull_paused(slow_hub: HubServer,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    proc = cli_pull()
    wait_for(lambda: partial_weights() > 0, what="the child to be downloading the weights")
    [status] = list_jobs()
    assert status.state is JobState.RUNNING and status.owner_pid == proc.pid
    assert status.stage == Stage.DOWNLOAD and status.spec == PullSpec.for_pull("tiny-r1", "int4", "cpu")
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 1  # the same model, while the child pulls it
    err = capsys.readouterr().err
    assert f"{NAME} is already being pulled by process {proc.pid}." in err and "Ctrl+C" in err
    code, child_err = stop(proc, "interrupt")
    assert code == 130 and "resume where it stopped" in child_err
    [status] = list_jobs()
    assert status.state is JobState.PAUSED and not status.interrupted and status.owner_pid is None
    assert status.progress() is not None and 0 < status.done < status.total
    assert not (ponder_home() / "pulls" / f"{NAME}.lock").exists()  # released on the way out


@posix_only
def test_a_killed_pull_reads_as_paused_and_resumes_without_fetching_finished_files(
        slow_hub: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    proc = cli_pull()
    wait_for(lambda: partial_weights() > 0, what="the child to be downloading the weights")
    assert stop(proc, "kill")[0] == -9
    lock = ponder_home() / "pulls" / f"{NAME}.lock"
    assert json.loads(lock.read_text())["pid"] == proc.pid and lock_owner(lock) is None  # stale
    [status] = list_jobs()
    assert status.state is JobState.PAUSED and status.interrupted and status.stage == Stage.DOWNLOAD
    slow_hub.faults.slow_chunk_s = 0.0
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 0
    assert "Ready: tiny-r1-int4" in capsys.readouterr().out
    assert resumed(slow_hub) and fetch_count(slow_hub, "config.json") == 1
    assert [m.name for m in list_installed()] == [NAME]
    assert list_jobs() == [] and not lock.exists()
    assert not (downloads_dir() / "ponder-test--tiny-r1").exists()  # the checkpoint is not kept


def test_a_failed_pull_is_recorded_with_its_error_and_a_retry_clears_it(slow_hub: HubServer) -> None:
    slow_hub.faults.slow_chunk_s = 0.0
    slow_hub.faults.wrong_size[WEIGHTS] = 7
    assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 1
    [status] = list_jobs()
    assert status.state is JobState.FAILED and WEIGHTS in status.error
    slow_hub.faults.wrong_size.clear()
    assert main(["pull", "tiny-r1", "--provider", "cpu", "--keep-download"]) == 0
    assert list_jobs() == [] and (downloads_dir() / "ponder-test--tiny-r1" / COMMIT / WEIGHTS).is_file()


def test_two_jobs_never_download_into_one_folder(slow_hub: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    folder = downloads_dir() / "ponder-test--tiny-r1" / COMMIT  # e.g. int4 and fp16 of one model at once
    with hold(folder / ".ponder-download.lock", "held", "by the test"):
        assert main(["pull", "tiny-r1", "--provider", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "ponder-test/tiny-r1 is already being downloaded by another job of this process." in err
    assert fetch_count(slow_hub, WEIGHTS) == 0 and [s.state for s in list_jobs()] == [JobState.FAILED]


def write_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"version": 1, "models": [tiny_model_entry()], "embedders": []}))
    monkeypatch.setenv("PONDER_CATALOG", str(catalog))


def test_discard_keeps_a_download_another_job_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_catalog(tmp_path, monkeypatch)
    int4, fp16 = PullSpec.for_pull("tiny-r1", "int4", "cpu"), PullSpec.for_pull("Tiny-R1", "fp16", "cpu")
    assert (int4.name, fp16.name, fp16.model) == ("tiny-r1-int4", "tiny-r1-fp16", "tiny-r1")
    assert int4.stages() == (Stage.DOWNLOAD, Stage.CONVERT, Stage.INSTALL) == ("download", "convert", "install")
    partial = downloads_dir() / "ponder-test--tiny-r1" / COMMIT / ".partial" / f"{WEIGHTS}.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x" * 100)
    (staging_dir() / "tiny-r1-int4" / "convert.tmp").mkdir(parents=True)
    remember(int4)
    remember(fp16)
    assert [(s.name, s.state) for s in list_jobs()] == [("tiny-r1-fp16", "paused"), ("tiny-r1-int4", "paused")]
    discard_job(int4)
    assert partial.is_file() and not (staging_dir() / "tiny-r1-int4").exists()  # fp16 still needs the download
    assert [s.name for s in list_jobs()] == ["tiny-r1-fp16"]
    discard_job(fp16)
    assert list_jobs() == [] and not (downloads_dir() / "ponder-test--tiny-r1").exists()


def test_jobs_of_the_older_pulls_json_are_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_catalog(tmp_path, monkeypatch)
    (ponder_home() / "pulls.json").write_text(json.dumps({"version": 1, "jobs": [
        {"kind": "pull", "model": "tiny-r1", "precision": "int4", "provider": "cpu", "path": ""},
        {"kind": "convert", "model": "mine", "precision": "int4", "provider": "cpu", "path": str(tmp_path)},
        {"kind": "pull", "model": "gone-from-the-catalog", "precision": "int4", "provider": "cpu"}]}))
    jobs = list_jobs()
    assert [(s.name, s.spec.kind, s.state) for s in jobs] == [("mine", JobKind.CONVERT, JobState.PAUSED),
                                                            (NAME, JobKind.PULL, JobState.PAUSED)]
    assert not (ponder_home() / "pulls.json").exists()


def test_unreadable_records_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_catalog(tmp_path, monkeypatch)
    remember(PullSpec.for_pull("tiny-r1"))
    folder = ponder_home() / "pulls"
    (folder / "torn.json").write_text('{"spec": {"kind": "pu')
    (folder / "other-name.json").write_text((folder / f"{NAME}.json").read_text())  # names another model
    assert [s.name for s in list_jobs()] == [NAME] and job_status("torn") is None


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    lock = tmp_path / "x.lock"
    lock.write_text(json.dumps({"pid": int(dead.stdout), "started": 0.0, "token": "old"}))
    assert lock_owner(lock) is None
    with hold(lock, "x is busy", "wait"):
        assert lock_owner(lock) == os.getpid()
    assert not lock.exists()


def test_a_reused_pid_does_not_hold_a_lock(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"  # our parent is alive, but it is not the process that took this lock
    lock.write_text(json.dumps({"pid": os.getppid(), "started": 1.0, "token": "old"}))
    assert lock_owner(lock) is None
    with hold(lock, "x is busy", "wait"):
        pass


def test_a_live_lock_names_its_process(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    child = subprocess.Popen([sys.executable, "-c", "from engine.system.pidlock import hold; from pathlib import Path; "
                              "import sys\nwith hold(Path(sys.argv[1]), 'x', 'y'):\n print('held', flush=True); "
                              "sys.stdin.read()", str(lock)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(pulls.ROOT)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=f"x is busy by process {child.pid}. wait") as err, \
                hold(lock, "x is busy", "wait"):
            pass
        assert err.value.pid == child.pid
    finally:
        child.communicate("", timeout=30)
    assert not lock.exists()


def test_two_threads_cannot_hold_one_lock(tmp_path: Path) -> None:
    lock, errors = tmp_path / "x.lock", []
    with hold(lock, "x is busy", "wait"):
        def other() -> None:
            try:
                with hold(lock, "x is busy", "wait"):
                    pass
            except LockedError as err:
                errors.append(str(err))
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert errors == ["x is busy by another job of this process. wait"]
