"""What every request to a remote engine shares: the :class:`RemoteEngine` itself, an HTTP client that never uses
an environment proxy, the Network activity entry (refused in offline mode), and the errors that name the engine."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.system import network_log, privacy
from engine.system.errors import PonderError

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 600.0  # a busy engine may queue a request for a while before the first token


@dataclass(frozen=True)
class RemoteEngine:
    """A remote OpenAI-compatible server: ``url`` is its API base (e.g. ``http://host:8000/v1``)."""

    name: str
    url: str

    @property
    def encrypted(self) -> bool:
        """False when its key and messages would cross the network in clear text (http:// beyond loopback)."""
        parts = urlsplit(self.url)
        if parts.scheme == "https":
            return True
        host = parts.hostname or ""
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def client(read_timeout: float = READ_TIMEOUT_S) -> httpx.Client:
    """An HTTP client for remote engines: no redirects, and ``trust_env=False`` so a key is never sent through a
    proxy configured in the environment."""
    return httpx.Client(timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S), follow_redirects=False,
                        trust_env=False)


def activity(engine: RemoteEngine, what: str) -> contextlib.AbstractContextManager[network_log.Activity]:
    """A request to ``engine``, listed in the Network activity; refused with a clear error in offline mode (one
    rule for every engine, wherever it runs: offline means no remote engines)."""
    reason = privacy.offline_reason()
    if reason:
        network_log.record_blocked(network_log.REMOTE, f"{engine.name}: {what}", engine.url, reason)
        raise PonderError(f"Cannot reach the remote engine {engine.name}: {reason[0].lower()}{reason[1:]}.",
                          "Switch offline mode off in Settings › Privacy and network to use remote engines.")
    return network_log.activity(network_log.REMOTE, f"{engine.name}: {what}", engine.url)


def headers(key: str | None) -> dict[str, str]:
    """The request headers carrying ``key`` (none without a key)."""
    return {"Authorization": f"Bearer {key}"} if key else {}


def unreachable(engine: RemoteEngine, err: httpx.HTTPError) -> PonderError:
    """The error for a connection that failed or stopped answering."""
    if isinstance(err, httpx.TimeoutException) and not isinstance(err, httpx.ConnectTimeout):
        return PonderError(f"The remote engine {engine.name} at {engine.url} stopped answering ({err or 'timeout'}).",
                           "Check that it is still running, then try again.")
    return PonderError(f"Cannot reach the remote engine {engine.name} at {engine.url}: {err or type(err).__name__}.",
                       "Check that it is running and that the URL is right ('ponder remote list').")


def error_message(response: httpx.Response) -> str:
    """The message of an error answer (OpenAI's ``{"error": {"message"}}`` shape, or the start of the body)."""
    try:
        detail = response.json().get("error", {})
        return str(detail.get("message") if isinstance(detail, dict) else detail)
    except (ValueError, AttributeError):
        return response.text[:200]


def refused(engine: RemoteEngine, response: httpx.Response, model: str = "") -> PonderError:
    """The error for a request the engine answered with an HTTP error status."""
    message = error_message(response)
    where = f"The remote engine {engine.name} at {engine.url}"
    if response.status_code in (401, 403):
        return PonderError(f"{where} refused the key (HTTP {response.status_code}: {message}).",
                           f"Set its key: ponder remote add {engine.name} {engine.url} --key --replace.")
    if response.status_code == 404 and model:
        return PonderError(f"{where} has no model {model!r} ({message}).",
                           f"See its models: ponder remote models {engine.name}.")
    return PonderError(f"{where} answered HTTP {response.status_code}: {message}.",
                       "Check the engine's own log for the cause.")


def model_rows(engine: RemoteEngine, key: str | None, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The engine's ``GET /models`` list (each row has at least ``id``; most servers add ``owned_by``)."""
    try:
        with client(timeout) as http, activity(engine, "models") as entry:
            response = http.get(f"{engine.url}/models", headers=headers(key))
            entry.received(response.num_bytes_downloaded)
    except httpx.HTTPError as err:
        raise unreachable(engine, err) from err
    if response.status_code != 200:
        raise refused(engine, response)
    try:
        rows = response.json()["data"]
        return [{**row, "id": str(row["id"])} for row in rows]
    except (ValueError, KeyError, TypeError) as err:
        raise PonderError(f"{engine.url}/models did not answer with a model list.",
                          "Check that the URL is the server's OpenAI-compatible API (it usually ends in /v1).") from err
