"""The local API refuses what it must, each case over raw HTTP: no key, a wrong key, another Host (DNS
rebinding), cross-origin access, routes that do not exist, other methods, other interfaces without consent."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.serve.api.auth import HostPolicy, host_policy, split_host
from engine.serve.api.server import ApiServer
from engine.system.errors import PonderError
from engine.system.secrets import API_KEY_NAME, api_key
from tests.fixtures.keyrings import MemoryKeyring


@pytest.fixture
def server(memory_keyring: MemoryKeyring) -> Iterator[ApiServer]:
    """An ApiServer on a free loopback port with the keyring's key (no models needed here)."""
    api = ApiServer(port=0)
    api.start()
    try:
        yield api
    finally:
        api.stop()


def raw(server: ApiServer, method: str, path: str, headers: dict[str, str | bytes], body: bytes | None = None,
        host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these headers (Host too: ``host`` or the right one)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host if host is not None else f"127.0.0.1:{server.port}")
    for name, value in headers.items():
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def auth(server: ApiServer) -> dict[str, str | bytes]:
    return {"Authorization": f"Bearer {server.key}"}


def error_of(body: bytes) -> dict[str, object]:
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


def test_the_right_key_and_host_are_served(server: ApiServer) -> None:
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}",
                 f"LOCALHOST:{server.port}"):
        status, _, body = raw(server, "GET", "/v1/models", auth(server), host=host)
        assert status == 200 and json.loads(body) == {"object": "list", "data": []}


def test_a_missing_or_wrong_key_is_refused(server: ApiServer) -> None:
    cases: list[dict[str, str | bytes]] = [
        {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {server.key}"}, {"Authorization": server.key},
        {"Authorization": f"Bearer {server.key}x"}, {"Authorization": "Bearer ключ".encode()},
        {"X-Api-Key": server.key}]
    for headers in cases:
        status, head, body = raw(server, "GET", "/v1/models", headers)
        assert status == 401, headers
        assert error_of(body)["type"] == "authentication_error" and head["www-authenticate"] == "Bearer"
    status, _, _ = raw(server, "POST", "/v1/chat/completions", {"Content-Type": "application/json"},
                       json.dumps({"model": "x", "messages": [{"role": "user", "content": "hi"}]}).encode())
    assert status == 401


def test_other_hosts_are_refused_even_with_the_key(server: ApiServer) -> None:
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1", f"127.0.0.1:{server.port + 1}",
                 f"localhost.evil.example:{server.port}", f"127.0.0.1:{server.port}@evil", "", f"::1:{server.port}"):
        status, _, body = raw(server, "GET", "/v1/models", auth(server), host=host)
        assert status == 403, host
        assert error_of(body)["code"] == "host_not_allowed"


def test_a_request_without_host_is_refused(server: ApiServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET /v1/models HTTP/1.0\r\nAuthorization: Bearer {server.key}\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 403") and b"host_not_allowed" in reply


def test_no_cross_origin_access(server: ApiServer) -> None:
    evil: dict[str, str | bytes] = {"Origin": "http://evil.example"}
    cases = [("GET", "/v1/models", evil | auth(server)), ("GET", "/v1/models", evil),
             ("OPTIONS", "/v1/chat/completions", evil | {"Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "authorization"}),
             ("OPTIONS", "/v1/chat/completions", evil | auth(server)), ("TRACE", "/v1/models", evil | auth(server)),
             ("TRACE", "/v1/models", evil)]
    for method, path, headers in cases:
        status, head, _ = raw(server, method, path, headers)
        assert not any(k.startswith("access-control-") for k in head), (method, headers)
        if method != "GET" or "Authorization" not in headers:
            assert status in (401, 405), (method, status)


def test_only_the_three_routes_exist(server: ApiServer) -> None:
    for method, path in (("GET", "/"), ("GET", "/v1"), ("GET", "/v1/models/tiny"), ("GET", "/v1/models/"),
                         ("POST", "/v1/completions"), ("GET", "/docs"), ("GET", "/openapi.json"),
                         ("POST", "/v1/responses"), ("GET", "/v1/../v1/models/x"), ("POST", "/v1/embeddings/")):
        status, _, body = raw(server, method, path, auth(server))
        assert status == 404, (method, path)
        assert error_of(body)["type"] == "not_found_error"
    for method, path in (("GET", "/v1/chat/completions"), ("DELETE", "/v1/models"), ("TRACE", "/v1/models"),
                         ("PUT", "/v1/embeddings")):
        status, _, body = raw(server, method, path, auth(server))
        assert status == 405, (method, path)
        error_of(body)


def test_bad_bodies_get_openai_errors(server: ApiServer) -> None:
    for body in (b"{not json", b"[]", b'{"model": "x"}', b'{"model": "x", "messages": "hi"}',
                 b'{"model": "x", "messages": [{"role": "tool", "content": "x"}]}',
                 b'{"model": "x", "messages": [{"role": ["user"], "content": "x"}]}',
                 b'{"model": "x", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}'):
        status, _, reply = raw(server, "POST", "/v1/chat/completions", auth(server), body)
        assert status == 400, body
        assert error_of(reply)["type"] == "invalid_request_error"
    status, _, reply = raw(server, "POST", "/v1/chat/completions", auth(server), b"{}" + b" " * (17 * 2**20))
    assert status == 413
    status, _, reply = raw(server, "POST", "/v1/embeddings", auth(server), b'{"model": "x", "input": [1, 2]}')
    assert status == 400


def test_the_key_lives_in_the_keyring_not_on_disk(memory_keyring: MemoryKeyring, ponder_home: Path) -> None:
    key = api_key()
    assert memory_keyring.store[("Ponder", API_KEY_NAME)] == key and api_key() == key
    with ApiServer(port=0) as api:
        assert api.key == key
        assert httpx.get(f"{api.url}/models", headers={"Authorization": f"Bearer {key}"},
                         trust_env=False).status_code == 200
    for path in ponder_home.rglob("*"):
        assert not path.is_file() or key.encode() not in path.read_bytes()


def test_other_interfaces_need_an_explicit_choice_and_still_the_key(memory_keyring: MemoryKeyring) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(PonderError, match="--allow-remote"):
            ApiServer(host, 0)
    with ApiServer("0.0.0.0", 0, allow_remote=True, allowed_hosts=["ponder.lan"]) as api:
        assert api.url == f"http://127.0.0.1:{api.port}/v1"
        assert raw(api, "GET", "/v1/models", {})[0] == 401
        assert raw(api, "GET", "/v1/models", auth(api))[0] == 200
        assert raw(api, "GET", "/v1/models", auth(api), host=f"ponder.lan:{api.port}")[0] == 200
        assert raw(api, "GET", "/v1/models", auth(api), host=f"{socket.gethostname()}:{api.port}")[0] == 200
        assert raw(api, "GET", "/v1/models", auth(api), host=f"evil.example:{api.port}")[0] == 403


def test_host_header_parsing() -> None:
    assert split_host("LocalHost:8080") == ("localhost", 8080)
    assert split_host("[::1]:80") == ("::1", 80) and split_host("[::1]") == ("::1", None)
    assert split_host("example.com.") == ("example.com", None)
    for bad in ("::1:80", "[::1", "[::1]x", "a:b", "a:0", "a:70000", ":80", ""):
        assert split_host(bad) is None, bad
    policy = host_policy("127.0.0.1", 80)
    assert isinstance(policy, HostPolicy) and policy.allows("localhost") and policy.allows("127.0.0.1:80")
    assert not host_policy("127.0.0.1", 8765).allows("localhost")
    assert "example.lan" not in host_policy("127.0.0.1", 1, extra=["example.lan"]).names  # loopback: names ignored
