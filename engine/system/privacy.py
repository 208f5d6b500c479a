"""What may leave the machine, decided in one place.

Ponder promises that nothing leaves the computer except what the person asks for (a model or embedder download, a
chat with a remote engine they added). Two things keep that promise, and both live here:

1. **Library telemetry off, before the libraries load.** ONNX Runtime 1.32 on Linux links a Microsoft 1DS
   telemetry client into ``libonnxruntime.so``: about ten seconds after a session starts it looks up
   ``mobile.events.data.microsoft.com`` and uploads. ``onnxruntime.disable_telemetry_events()`` does not stop it;
   the environment variable ``ORT_DISABLE_TELEMETRY=1`` does, but only when it is set before the library is
   loaded. The Hugging Face libraries (huggingface_hub, transformers, optimum) add usage data to their requests
   and send "telemetry" pings unless ``HF_HUB_DISABLE_TELEMETRY``/``DO_NOT_TRACK`` are set, also read at import.
   :func:`quiet_libraries` sets them; ``engine/__init__.py`` calls it, so every process that runs Ponder code (the
   window, every CLI command, the conversion and document-parsing workers, the API server, the frozen app) has
   them before anything can import those libraries. Children inherit them through ``os.environ``.
   ``tests/engine/test_network_trace.py`` proves the result with a system-call trace of every ``connect()``.

2. **Offline mode, enforced for every Python socket.** :func:`set_offline` (Settings › Privacy and network, or
   ``PONDER_OFFLINE=1`` / ``HF_HUB_OFFLINE=1`` in the environment) makes the process refuse any socket that is not
   loopback or local: an audit hook (PEP 578) sees every ``connect``, ``sendto``, ``bind`` and name lookup before it
   happens and raises :class:`OfflineError` for anything else, whatever code asked for it. The code paths people
   use (pull, embedder download, remote engines) check :func:`offline_reason` first, so they fail with a clear
   message instead; the hook is the guarantee behind them. Native code that opens its own sockets does not pass
   through Python: that is what the environment switches above and the trace test are for.

The same hook tells :mod:`engine.system.network_log` about every non-loopback connection, so the Network activity list
shows what really went out.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

from engine.system.errors import PonderError

# Set before ONNX Runtime / Hugging Face libraries load (see the module docstring). Values the person set
# themselves are kept only where they also mean "off".
QUIET_ENVIRONMENT = {
    "ORT_DISABLE_TELEMETRY": "1",  # ONNX Runtime's 1DS client (read when libonnxruntime loads)
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub / transformers / optimum telemetry pings and user-agent data
    "DO_NOT_TRACK": "1",  # the cross-tool convention, honoured by huggingface_hub and others
}
OFFLINE_ENV = "PONDER_OFFLINE"
_TRUE = ("1", "true", "yes", "on")
_LOCAL_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")
_SETTING = "Offline mode is on (Settings › Privacy and network)"

_offline_setting = False  # this process's copy of Settings.offline (one per process, like the socket layer itself)
_guard_installed = False


class OfflineError(PonderError, ConnectionRefusedError):
    """A connection was refused because offline mode is on. It is an OSError too, so network libraries treat it
    as a failed connection."""

    def __init__(self, action: str, reason: str) -> None:
        PonderError.__init__(self, f"{reason}: Ponder refused {action}.",
                             "Switch offline mode off in Settings › Privacy and network to use the network.")


def quiet_libraries() -> None:
    """Switch off every library telemetry Ponder knows of, in this process and the ones it starts.

    Must run before onnxruntime or the Hugging Face libraries are imported (``engine/__init__.py`` calls it).
    """
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ[name] = value


def _env_on(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def offline_forced_by() -> str | None:
    """The environment variable that forces offline mode (the Settings switch cannot turn it off), or None."""
    for name in (OFFLINE_ENV, "HF_HUB_OFFLINE"):
        if _env_on(name):
            return name
    return None


def offline_reason() -> str | None:
    """Why this process must not use the network (a sentence naming the switch), or None when it may."""
    forced = offline_forced_by()
    if forced:
        return f"Offline mode is on ({forced}=1 is set)"
    return _SETTING if _offline_setting else None


def is_offline() -> bool:
    """True when this process refuses every connection that is not loopback."""
    return offline_reason() is not None


def set_offline(on: bool) -> None:
    """Apply the Settings switch to this process (the environment variables still force it on).

    Worker processes started afterwards inherit it through ``PONDER_OFFLINE`` (see :func:`child_environment`).
    """
    global _offline_setting
    _offline_setting = bool(on)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a worker process: this one's, the telemetry switches, and offline mode if it is on."""
    env = {**os.environ, **QUIET_ENVIRONMENT, **(extra or {})}
    if is_offline():
        env[OFFLINE_ENV] = "1"
    return env


def is_loopback_host(host: object) -> bool:
    """True for a loopback address or the name ``localhost`` (what a local server is reached by)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _target(address: Any) -> tuple[str, int]:
    if isinstance(address, tuple) and len(address) >= 2:
        host = address[0].decode("ascii", "replace") if isinstance(address[0], bytes) else str(address[0])
        return host, int(address[1]) if isinstance(address[1], int) else 0
    return str(address), 0


def _inet(sock: Any) -> bool:
    return getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6)


_ADDRESS_EVENTS = ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind")
_LOOKUP_EVENTS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
                  "socket.getnameinfo")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The PEP 578 hook: sees each socket operation before it happens (any other event returns at once)."""
    if not event.startswith("socket."):
        return
    if event in _ADDRESS_EVENTS:
        _check_address(event, args[0], args[1])
    elif event in _LOOKUP_EVENTS and args:
        name = args[0][0] if event == "socket.getnameinfo" and isinstance(args[0], tuple) else args[0]
        _check_lookup(name.decode("ascii", "replace") if isinstance(name, bytes) else name)


def _check_address(event: str, sock: Any, address: Any) -> None:
    if address is None or not _inet(sock):
        return  # a connected socket's send, or a local (Unix, netlink) socket
    host, port = _target(address)
    if is_loopback_host(host):
        return
    from engine.system import network_log

    reason = offline_reason()
    if event == "socket.bind":  # listening beyond loopback lets other computers in
        if reason:
            raise OfflineError(f"to listen on {host or 'every address'}:{port}", reason)
        return
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    network_log.saw(address, "connection", reason)
    if reason:
        raise OfflineError(f"a connection to {address}", reason)


def _check_lookup(name: object) -> None:
    if not isinstance(name, str) or not name or is_loopback_host(name):
        return
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
        return  # an address, not a name: nothing is looked up (the connection to it is checked)
    except ValueError:
        pass
    from engine.system import network_log

    reason = offline_reason()
    network_log.saw(name, "name lookup", reason)
    if reason:
        raise OfflineError(f"a name lookup of {name}", reason)


def install_guard() -> None:
    """Install the socket audit hook once per process (audit hooks cannot be removed; it only reads the state
    that :func:`set_offline` and the environment set)."""
    global _guard_installed
    if not _guard_installed:
        sys.addaudithook(_audit)
        _guard_installed = True
