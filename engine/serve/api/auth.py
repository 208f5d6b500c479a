"""The checks every request passes before routing: the Host header (against DNS rebinding), the API key, and
the body size. Nothing here ever adds CORS headers: browsers on other sites get no access."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import psutil
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.serve.api.schemas import ApiError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_BODY_BYTES = 16 * 2**20


def is_loopback(host: str) -> bool:
    """True for "localhost" and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header as (lower-case host without brackets, port or None); None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_raw = value.rpartition(":")
        if not sep:
            host, port_text_raw = value, ""
        port_text = port_text_raw if sep else None
        if ":" in host:  # an unbracketed IPv6 address
            return None
    host = host.rstrip(".")
    if not host:
        return None
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def machine_names() -> set[str]:
    """This computer's host names and interface addresses (for a server bound beyond loopback)."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                names.add(addr.address.split("%", 1)[0].lower())
    return {n for n in names if n}


@dataclass(frozen=True)
class HostPolicy:
    """Which Host headers are accepted: one of ``names`` with exactly ``port`` (or no port when it is 80)."""

    names: frozenset[str]
    port: int

    def allows(self, header: str | None) -> bool:
        """True when ``header`` names this server."""
        parsed = split_host(header) if header else None
        if parsed is None:
            return False
        host, port = parsed
        return host in self.names and (port == self.port or (port is None and self.port == 80))


def host_policy(bind_host: str, port: int, *, allow_remote: bool = False, extra: Iterable[str] = ()) -> HostPolicy:
    """The loopback names, plus (only when serving beyond loopback) this machine's names and ``extra``."""
    names = set(LOOPBACK_NAMES)
    if allow_remote:
        names |= machine_names() | {h.strip().strip("[]").lower() for h in extra if h.strip()}
        if bind_host not in ("0.0.0.0", "::", ""):
            names.add(bind_host.strip("[]").lower())
    return HostPolicy(frozenset(names), port)


def key_matches(authorization: str | None, key: str) -> bool:
    """True when the header is ``Bearer <key>`` (compared in constant time)."""
    if not authorization or not key:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(given.strip().encode("latin-1", "replace"), key.encode("utf-8"))


class Guard:
    """ASGI middleware: refuses other Hosts (403), requests without the key (401) and oversized bodies (413)
    before the app sees them; closes WebSockets."""

    def __init__(self, app: ASGIApp, key: str, hosts: HostPolicy, max_body: int = MAX_BODY_BYTES) -> None:
        if not key:
            raise ValueError("The API needs a key.")
        self.app, self.key, self.hosts, self.max_body = app, key, hosts, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = Headers(scope=scope)
        error = self._refusal(headers)
        if error is not None:
            extra = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
            await JSONResponse(error.body(), error.status, headers=extra)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, headers: Headers) -> ApiError | None:
        hosts = headers.getlist("host")
        if len(hosts) != 1 or not self.hosts.allows(hosts[0]):
            shown = hosts[0][:100] if hosts else "(none)"
            return ApiError(403, f"Host {shown!r} is not allowed: use http://127.0.0.1:{self.hosts.port}.",
                            code="host_not_allowed")
        if not key_matches(headers.get("authorization"), self.key):
            return ApiError(401, "Missing or wrong API key: send 'Authorization: Bearer <key>' with the key "
                                 "shown in Ponder's Settings.", code="invalid_api_key")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return ApiError(413, f"The request body is larger than {self.max_body // 2**20} MiB.")
        return None
