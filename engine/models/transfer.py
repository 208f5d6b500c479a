"""Hub HTTP plumbing for engine.models.hub: cancellable calls and streams, model info with readable errors, progress.

Transfers can be interrupted within a fraction of a second, even if the server stalls.

The blocking network call runs on a daemon thread; the caller waits on a queue and re-checks its
:class:`~engine.system.cancel.CancelToken` every ``POLL_S``. An abandoned thread ends by itself at its read timeout.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import requests
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session

from engine.system import network_log
from engine.system.cancel import CancelToken
from engine.system.errors import DownloadError
from engine.system.progress import Progress, ProgressCallback, RateMeter, Stage

T = TypeVar("T")
POLL_S = 0.2  # how often a wait re-checks the cancel token
OFFLINE = ("Cannot download: offline mode is on (HF_HUB_OFFLINE).", "Unset HF_HUB_OFFLINE and restart Ponder.")
# (huggingface_hub's own check; Ponder's offline mode refuses earlier, in engine.models.hub, with
# engine.system.privacy's reason)
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class Retryable(Exception):
    """A transfer failed in a way that resuming may fix (dropped connection, stall, busy server)."""


def call_cancellable(fn: Callable[[], T], cancel: CancelToken, what: str = "Download") -> T:
    """Run ``fn`` on a daemon thread and return its result, raising Cancelled within POLL_S of a cancel."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the waiting thread
            box["error"] = err
        finally:
            done.set()

    # the thread works for the caller's network activity (engine.system.network_log): it carries the caller's context
    threading.Thread(target=network_log.run_in_context(run), daemon=True, name="ponder-call").start()
    while not done.wait(POLL_S):
        cancel.raise_if_cancelled(what)
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def fetch_model_info(repo_id: str, revision: str, endpoint: str, token: str | None, cancel: CancelToken, *,
                     timeout: float) -> Any:
    """``HfApi.model_info`` with file metadata, cancellable, its errors turned into DownloadError."""
    page = f"{endpoint}/{repo_id}"
    need_token = (f"If it is private or gated, accept its terms on {page} and save a Hugging Face token "
                  "with access in Settings.")
    try:
        return call_cancellable(lambda: HfApi(endpoint=endpoint).model_info(
            repo_id, revision=revision, files_metadata=True, token=token or False, timeout=timeout), cancel)
    except RevisionNotFoundError as err:
        raise DownloadError(f"Revision {revision!r} was not found in {repo_id}.", "Check the branch, tag or commit.") \
            from err
    except GatedRepoError as err:
        raise DownloadError(f"{repo_id} is gated: access must be accepted first.",
                            f"Accept its terms on {page}, then save a Hugging Face token in Settings.") from err
    except RepositoryNotFoundError as err:
        raise DownloadError(f"Repository {repo_id} was not found, or it needs a token.",
                            f"Check the name. {need_token}") from err
    except OfflineModeIsEnabled as err:
        raise DownloadError(*OFFLINE) from err
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        if status in (401, 403):
            raise DownloadError(f"The Hub refused access to {repo_id} (HTTP {status}): a token is needed or "
                                "the one saved is not allowed.", need_token) from err
        if status == 404:
            raise DownloadError(f"Repository {repo_id} or revision {revision!r} was not found (HTTP 404).",
                                "Check the name and revision.") from err
        raise DownloadError(f"The Hub answered HTTP {status} for {repo_id}.", "Try again later.") from err
    except requests.RequestException as err:
        raise DownloadError(f"Could not reach {endpoint}: {type(err).__name__}.",
                            "Check your connection, or HF_ENDPOINT if you use a mirror.") from err


class ByteProgress:
    """Throttled, monotonic byte progress."""

    def __init__(self, callback: ProgressCallback, total: int, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._callback, self.total, self.done = callback, total, 0
        self._reported, self._last = -1, 0.0
        self._meter = RateMeter()

    def add(self, n: int, name: str, force: bool = False) -> None:
        """Count ``n`` more bytes of file ``name``; report if ``interval_s`` passed (or ``force``)."""
        self.done += n
        now = time.monotonic()
        if force or now - self._last >= self.interval_s:
            self._last = now
            shown = max(self._reported, min(self.done, self.total))
            self._reported = shown
            rate = self._meter.update(shown)
            self._callback(Progress(stage=Stage.DOWNLOAD, done=shown, total=self.total, rate=rate,
                                    eta_s=RateMeter.eta(shown, self.total, rate), message=name))


class Transfer:
    """One streamed HTTP GET on a daemon thread. Events: ("headers", Response), ("data", bytes)..., ("end", None).

    Use as a context manager: leaving it tells the thread to stop; the thread closes its own response.
    """

    def __init__(self, url: str, headers: dict[str, str], *, chunk_size: int,
                 timeout: tuple[float, float]) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=16)
        self._stop = threading.Event()
        run = network_log.run_in_context(lambda: self._run(url, headers, chunk_size, timeout))
        threading.Thread(target=run, daemon=True, name="ponder-download").start()

    def _put(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, url: str, headers: dict[str, str], chunk_size: int, timeout: tuple[float, float]) -> None:
        resp: requests.Response | None = None
        try:
            resp = get_session().get(url, headers=headers, stream=True, allow_redirects=True, timeout=timeout)
            if self._put(("headers", resp)) and resp.status_code in (200, 206):
                for chunk in resp.iter_content(chunk_size):
                    if not self._put(("data", chunk)):
                        return
            self._put(("end", None))
        except Exception as err:  # handed to the waiting thread
            self._put(("error", err))
        finally:
            if resp is not None:
                resp.close()

    def next(self, cancel: CancelToken) -> tuple[str, Any]:
        """The next event; raises Cancelled within POLL_S of a cancel, Retryable for network failures."""
        while True:
            cancel.raise_if_cancelled("Download")
            try:
                kind, value = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if kind != "error":
                return kind, value
            if isinstance(value, OfflineModeIsEnabled):
                raise DownloadError(*OFFLINE) from value
            if isinstance(value, _RETRYABLE):
                raise Retryable(type(value).__name__) from value
            if isinstance(value, requests.RequestException):
                raise DownloadError(f"Download failed: {type(value).__name__}: {value}",
                                    "Check your connection and try again.") from value
            raise value

    def __enter__(self) -> Transfer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
