"""Pull jobs: a pull (or the conversion of a local folder) as a job that ``ponder pull`` and the Models page share.

Every unfinished job has one record, ``<data folder>/pulls/<model name>.json``: what it makes (a :class:`PullSpec`),
its state, its stage and latest progress, and the error that stopped it. The process running a job holds
``pulls/<model name>.lock`` (:mod:`engine.system.pidlock`), so a second process asking for the same model is told which
process has it, and a record whose process is gone (Ctrl+C, Pause, Cancel, or killed) reads as paused.

Resuming is running the same spec again, from either side: the download keeps its verified files and its partial
ones (:mod:`engine.models.hub`), the conversion its finished stage (:mod:`engine.models.convert.pipeline`), so
nothing finished
is fetched or built twice. When a job ends well its record goes, and so does the downloaded checkpoint (unless the
spec keeps it, or another unfinished job downloads the same repository); :func:`discard_job` removes an unfinished
job's partial download, its staging folders and its record.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.models.catalog import CatalogEntry, find_entry
from engine.models.convert.options import INT8_CACHE_PROVIDERS, KV_CACHE_TYPES
from engine.models.convert.pipeline import convert_checkpoint
from engine.models.pull import default_name, hub_model_name, looks_like_repo, parse_repo_ref, pull
from engine.models.store import InstalledModel, get_installed, list_installed, staging_dir
from engine.system.cancel import CancelToken
from engine.system.errors import Cancelled, CatalogError, PonderError, StoreError
from engine.system.paths import check_model_name, downloads_dir, ponder_home
from engine.system.pidlock import hold, lock_owner
from engine.system.progress import Progress, ProgressCallback, Stage, ignore_progress
from engine.system.verify import read_json, write_json_atomic

__all__ = ["JobKind", "JobState", "JobStatus", "PullSpec", "Stage", "discard_job", "job_status", "list_jobs",
           "remember", "run_job"]

log = logging.getLogger(__name__)
JOBS_DIR = "pulls"
LEGACY_FILE = "pulls.json"  # the Models page's list of unfinished jobs before the records were per model
SAVE_INTERVAL_S = 1.0
_BUSY_HINT = ("Wait for it to finish, or stop it there (Ctrl+C in its terminal, or Pause on the Models page); "
              "then run it again and it resumes where it stopped.")


class JobKind(StrEnum):
    """What a job does."""

    PULL = "pull"  # download from the Hub, then convert or install a prebuilt build
    CONVERT = "convert"  # convert a local Hugging Face folder


class JobState(StrEnum):
    """A job as a person sees it."""

    RUNNING = "running"  # a live process is running it (see JobStatus.owner_pid)
    PAUSED = "paused"  # stopped (paused, cancelled, interrupted or killed): running it again resumes it
    FAILED = "failed"  # stopped by an error (JobStatus.error): running it again retries


def _entry(model: str) -> CatalogEntry | None:
    try:
        return find_entry(model)
    except PonderError:
        return None


@dataclass(frozen=True)
class PullSpec:
    """What a job makes: ``model`` is a catalog id or a Hub repository ``owner/name[@rev]`` (kind PULL), or equals
    ``name`` (kind CONVERT, from the checkpoint folder ``path``); ``name`` is the installed name, which keys the
    job. Build one with :meth:`for_pull` or :meth:`for_convert`."""

    kind: JobKind
    model: str
    name: str
    precision: str = "int4"
    provider: str = "cpu"
    path: str = ""
    prebuilt: bool = True  # install an official prebuilt ONNX build when the catalog lists one
    keep_download: bool = False  # keep the downloaded checkpoint after a successful pull
    kv_cache: str = "float"  # "int8": convert with a calibrated int8 KV cache (CPU; never a prebuilt build)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", JobKind(self.kind))
        check_model_name(self.name)
        if self.kv_cache not in KV_CACHE_TYPES:
            raise PonderError(f"Unknown KV cache type {self.kv_cache!r}.", f"Choose {' or '.join(KV_CACHE_TYPES)}.")
        if self.kv_cache == "int8" and self.provider not in INT8_CACHE_PROVIDERS:
            raise PonderError(f"An int8 KV cache runs on the CPU only, not on {self.provider}.",
                              "Use --provider cpu, or leave the cache as it is (float).")
        if self.kind is JobKind.CONVERT and not self.path:
            raise PonderError("A conversion job needs the checkpoint folder.", "Give the folder's path.")

    @classmethod
    def for_pull(cls, model: str, precision: str = "int4", provider: str = "cpu", *, name: str = "",
                 prebuilt: bool = True, keep_download: bool = False, kv_cache: str = "float") -> PullSpec:
        """A pull of catalog model ``model`` (its id, name or repository) or of any Hub repository
        ``owner/name[@revision]``; CatalogError or UnsafeNameError, naming it, when it is neither. With
        ``kv_cache="int8"`` the model is converted here (prebuilt builds have a float cache) and its default name
        ends in ``-kv8``, so it installs beside the float-cache build."""
        try:
            entry: CatalogEntry | None = find_entry(model)
        except CatalogError:
            if not looks_like_repo(model):
                raise
            entry = None
        suffix = "-kv8" if kv_cache == "int8" else ""
        if entry is not None:
            model = entry.id
            name = name or check_model_name(default_name(entry, precision, provider) + suffix)
        else:
            name = name or check_model_name(hub_model_name(parse_repo_ref(model)[0], precision, provider) + suffix)
        return cls(JobKind.PULL, model, name, precision, provider, prebuilt=prebuilt and kv_cache == "float",
                   keep_download=keep_download, kv_cache=kv_cache)

    @classmethod
    def for_convert(cls, path: Path, name: str, precision: str = "int4", provider: str = "cpu",
                    kv_cache: str = "float") -> PullSpec:
        """The conversion of the checkpoint folder ``path``, installed as ``name``."""
        return cls(JobKind.CONVERT, name, name, precision, provider, path=str(path), kv_cache=kv_cache)

    def title(self) -> str:
        """A short label: the catalog name or Hub repository and the precision, or the name and folder."""
        if self.kind is JobKind.CONVERT:
            return f"{self.name} ({Path(self.path).name})"
        entry = _entry(self.model)
        return f"{entry.name if entry else self.model} · {self.precision}"

    def stages(self) -> tuple[Stage, ...]:
        """The stages this job goes through, in order."""
        if self.kind is JobKind.CONVERT:
            return (Stage.CONVERT, Stage.INSTALL)
        entry = _entry(self.model)
        if self.prebuilt and entry is not None and entry.prebuilt_for(self.precision, self.provider) is not None:
            return (Stage.DOWNLOAD, Stage.INSTALL)
        return (Stage.DOWNLOAD, Stage.CONVERT, Stage.INSTALL)

    def download_folders(self) -> set[str]:
        """Names of the folders under ``downloads_dir()`` this job downloads into (one per repository)."""
        if self.kind is JobKind.CONVERT:
            return set()
        entry = _entry(self.model)
        if entry is None:
            try:
                return {parse_repo_ref(self.model)[0].replace("/", "--")}
            except PonderError:
                return set()
        build = entry.prebuilt_for(self.precision, self.provider) if self.prebuilt else None
        return {(build.repo_id if build else entry.repo_id).replace("/", "--")}


@dataclass(frozen=True)
class JobStatus:
    """An unfinished job as its record and lock show it now."""

    spec: PullSpec
    state: JobState
    stage: str = ""  # a Stage value, "" before the first report
    done: int = 0
    total: int = 0
    unit: str = "bytes"
    message: str = ""
    error: str = ""  # why it failed (state FAILED)
    owner_pid: int | None = None  # the live process running it (state RUNNING)
    interrupted: bool = False  # it was running when its process ended without saying so (killed, crashed)

    @property
    def name(self) -> str:
        """The installed name, which keys the job."""
        return self.spec.name

    def progress(self) -> Progress | None:
        """The latest progress it reported, or None before the first."""
        try:
            stage = Stage(self.stage)
        except ValueError:  # "" before the first report, or a record written by another version
            return None
        return Progress(stage=stage, done=self.done, total=self.total, unit=self.unit, message=self.message)


def jobs_dir() -> Path:
    """``<data folder>/pulls``: one record (and, while it runs, one lock) per unfinished job."""
    path = ponder_home() / JOBS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_path(name: str) -> Path:
    return jobs_dir() / f"{check_model_name(name)}.json"


def _lock_path(name: str) -> Path:
    return jobs_dir() / f"{check_model_name(name)}.lock"


def _lock(name: str) -> contextlib.AbstractContextManager[None]:
    return hold(_lock_path(name), f"{name} is already being pulled", _BUSY_HINT)


def _write(status: JobStatus) -> None:
    record = {k: v for k, v in asdict(status).items() if k not in ("owner_pid", "interrupted")}
    write_json_atomic(_record_path(status.name), record | {
        "version": 1, "updated_at": datetime.now(UTC).isoformat(timespec="seconds")})


def _read(path: Path, *, owner: bool = True) -> JobStatus | None:
    """The record at ``path``; with ``owner``, its state as the lock shows it (running, or interrupted)."""
    raw: Any = read_json(path)
    try:
        spec_fields = {f.name for f in fields(PullSpec)}
        spec = PullSpec(**{k: v for k, v in raw["spec"].items() if k in spec_fields})
        if spec.name != path.stem:
            raise ValueError(f"it names {spec.name!r}")
        state = JobState(raw.get("state", JobState.PAUSED))
        status = JobStatus(spec, state, str(raw.get("stage", "")), int(raw.get("done", 0)), int(raw.get("total", 0)),
                           str(raw.get("unit", "bytes")), str(raw.get("message", "")), str(raw.get("error", "")))
    except (TypeError, KeyError, ValueError, AttributeError, PonderError) as err:
        log.warning("Ignoring the unreadable job record %s (%s)", path, err)
        return None
    pid = lock_owner(_lock_path(spec.name)) if owner else None
    if pid is not None:
        return replace(status, state=JobState.RUNNING, owner_pid=pid)
    if state is JobState.RUNNING:  # its process ended without saving that it stopped
        return replace(status, state=JobState.PAUSED, interrupted=True)
    return status


def job_status(name: str) -> JobStatus | None:
    """The unfinished job that installs ``name``, or None when there is none."""
    path = _record_path(name)
    return _read(path) if path.is_file() else None


def list_jobs() -> list[JobStatus]:
    """Every unfinished job, by name (records of older versions of Ponder are taken over first)."""
    _import_legacy()
    found = (_read(p) for p in sorted(jobs_dir().glob("*.json")))
    return [s for s in found if s is not None]


def remember(spec: PullSpec) -> JobStatus:
    """Record ``spec`` as a paused job (kept as it is when already recorded), so that it shows and can be resumed
    from the window or the command line; LockedError naming the process when another one is running it."""
    with _lock(spec.name):
        path = _record_path(spec.name)
        current = _read(path, owner=False) if path.is_file() else None
        if current is None or current.spec != spec or current.state is JobState.RUNNING:
            state = JobState.PAUSED if current is None or current.state is JobState.RUNNING else current.state
            current = replace(current, spec=spec, state=state) if current is not None else JobStatus(spec, state)
            _write(current)
        return current


def _import_legacy() -> None:
    legacy = ponder_home() / LEGACY_FILE
    data = read_json(legacy)
    if data is None:
        return
    for raw in data.get("jobs", []) if isinstance(data, dict) else []:
        try:
            kind, model = JobKind(raw.get("kind", "pull")), str(raw["model"])
            precision, provider = str(raw["precision"]), str(raw["provider"])
            spec = PullSpec.for_convert(Path(raw["path"]), model, precision, provider) if kind is JobKind.CONVERT \
                else PullSpec.for_pull(model, precision, provider)
            if job_status(spec.name) is None:
                remember(spec)
        except (TypeError, KeyError, ValueError, AttributeError, PonderError) as err:
            log.warning("Dropping an unfinished job of an older version (%s): %s", raw, err)
    legacy.unlink(missing_ok=True)


class _Recorder:
    """The running job's progress callback: passes each report on and saves it in the record, at once for a new
    stage and otherwise at most once a second (the last one is saved with the state the job ends in)."""

    def __init__(self, status: JobStatus, forward: ProgressCallback) -> None:
        self.status, self._forward, self._saved = status, forward, 0.0

    def save(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        _write(self.status)
        self._saved = time.monotonic()

    def __call__(self, p: Progress) -> None:
        self._forward(p)
        stage = str(Stage.DOWNLOAD if p.stage == Stage.VERIFY else p.stage)
        new_stage = stage != self.status.stage
        self.status = replace(self.status, stage=stage, done=p.done, total=p.total, unit=p.unit, message=p.message)
        if new_stage or time.monotonic() - self._saved >= SAVE_INTERVAL_S:
            self.save()


def run_job(spec: PullSpec, *, endpoint: str | None = None, token: str | bool | None = None,
            progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None) -> InstalledModel:
    """Run (or resume) the job ``spec`` in this process and return the installed model.

    Raises LockedError when another process runs the same job (or downloads the same repository). On the way out
    the record says how it stopped: paused (Cancelled, KeyboardInterrupt) or failed (any other error, in words);
    on success the record and the download go (see the module docstring).
    """
    path = _record_path(spec.name)
    if spec.kind is JobKind.PULL and not path.is_file():
        with contextlib.suppress(StoreError):
            return get_installed(spec.name)  # nothing to do, and nothing of an earlier pull to clean
    if spec.kind is JobKind.CONVERT and spec.name in {m.name for m in list_installed()}:
        raise StoreError(f"A model named {spec.name!r} is already installed.",
                         "Choose another name, or delete it first ('ponder rm NAME').")
    with _lock(spec.name):
        before = _read(path, owner=False) if path.is_file() else None
        start = replace(before, spec=spec, state=JobState.RUNNING, error="", owner_pid=None, interrupted=False) \
            if before is not None else JobStatus(spec, JobState.RUNNING)
        recorder = _Recorder(start, progress)
        recorder.save()
        try:
            model = _execute(spec, endpoint, token, recorder, cancel)
        except (Cancelled, KeyboardInterrupt, SystemExit):
            recorder.save(state=JobState.PAUSED)
            raise
        except PonderError as err:
            recorder.save(state=JobState.FAILED, error=str(err))
            raise
        except BaseException as err:  # a bug: the job can be retried, and the error says what happened
            recorder.save(state=JobState.FAILED, error=f"{type(err).__name__}: {err}")
            raise
        _record_path(spec.name).unlink(missing_ok=True)
        if spec.kind is JobKind.PULL and not spec.keep_download:
            _remove_downloads(spec, str(model.manifest.source.get("commit", "")))
        return model


def _execute(spec: PullSpec, endpoint: str | None, token: str | bool | None, progress: Callable[[Progress], None],
             cancel: CancelToken | None) -> InstalledModel:
    if spec.kind is JobKind.CONVERT:
        return convert_checkpoint(Path(spec.path), spec.name, precision=spec.precision, provider=spec.provider,
                                  kv_cache=spec.kv_cache, progress=progress, cancel=cancel)
    return pull(spec.model, precision=spec.precision, provider=spec.provider, name=spec.name,
                prebuilt=spec.prebuilt, endpoint=endpoint, token=token, keep_download=True, kv_cache=spec.kv_cache,
                progress=progress, cancel=cancel)


def _folders_in_use(name: str) -> set[str]:
    """Download folders of the other unfinished jobs: never removed under them."""
    return {f for s in list_jobs() if s.name != name for f in s.spec.download_folders()}


def _remove_downloads(spec: PullSpec, commit: str | None) -> None:
    """Remove the job's download (``commit``'s snapshot, or everything with None) where no other job needs it."""
    for folder in spec.download_folders() - _folders_in_use(spec.name):
        repo = downloads_dir() / folder
        if commit is None:
            shutil.rmtree(repo, ignore_errors=True)
            continue
        if commit:
            shutil.rmtree(repo / commit, ignore_errors=True)
        if repo.is_dir() and not any(repo.iterdir()):
            repo.rmdir()


def discard_job(spec: PullSpec) -> None:
    """Give up the unfinished job ``spec``: remove its partial download (unless another job downloads the same
    repository), its staging folders and its record. LockedError naming the process when one is running it."""
    with _lock(spec.name):
        if spec.kind is JobKind.PULL:
            _remove_downloads(spec, None)
        for staged in (staging_dir() / spec.name, staging_dir() / f"{spec.name}.prebuilt"):
            shutil.rmtree(staged, ignore_errors=True)
        _record_path(spec.name).unlink(missing_ok=True)
