"""Serving the API with uvicorn in a background thread (the app's Settings switch, and ``ponder serve``, which
waits for Ctrl+C). Loopback only unless the caller explicitly allows other computers; the key is always needed.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import uvicorn

from engine.runtime.host import ModelHost
from engine.serve.api.app import build_app
from engine.serve.api.auth import host_policy, is_loopback
from engine.serve.api.models import ChatHost, EmbedHost
from engine.system.errors import PonderError
from engine.system.secrets import api_key
from engine.system.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
START_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 64  # beyond this uvicorn answers 503 at once


def _model_path(name: str) -> Path:
    from engine.models.store import find_model

    return find_model(name).path


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise PonderError(f"Cannot serve on {host!r}: {err}.", "Use 127.0.0.1 or an address of this computer.") \
            from err
    try:
        if hasattr(socket, "SO_REUSEADDR") and not hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # not on Windows
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise PonderError(f"Cannot listen on {host} port {port}: {err.strerror or err}.",
                          "Choose another port (--port), or stop the program using it.") from err
    return sock


class ApiServer:
    """The OpenAI-compatible API on ``host:port`` (port 0 picks a free one), protected by ``key`` (default: the
    key in the keyring, see :func:`engine.system.secrets.api_key`). Each instance serves once: create a new one to
    serve again.

    ``start()`` serves from a background thread; ``stop()`` cancels running requests and waits for the server to
    end. A host other than loopback needs
    ``allow_remote=True``; the Host header must then name this machine (or one of ``allowed_hosts``).
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, key: str | None = None, *,
                 allow_remote: bool = False, allowed_hosts: Iterable[str] = (), provider: str = "auto",
                 threads: int | None = None, context: int | None = None, max_tokens: int = 4096,
                 models: ModelHost | None = None) -> None:
        if not is_loopback(host) and not allow_remote:
            raise PonderError(f"Refusing to serve on {host}: other computers could reach the API.",
                              "Serve on 127.0.0.1, or pass --allow-remote to do this on purpose (the key is "
                              "still required).")
        if not 0 <= port < 65536:
            raise PonderError(f"Invalid port {port}.", "Use a port between 1 and 65535 (0 picks a free one).")
        self.host, self.allow_remote, self.allowed_hosts = host, allow_remote, tuple(allowed_hosts)
        self.key = key or api_key()
        self._requested_port = port
        self.chat = ChatHost(_model_path, host=models, provider=provider, threads=threads, context=context,
                             max_tokens=max_tokens)
        self.embed = EmbedHost(_embedder_folder, self.chat.host)
        self._sock: socket.socket | None = None
        self._bound_port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                      allow_remote: bool = False, allowed_hosts: Iterable[str] = (),
                      models: ModelHost | None = None) -> ApiServer:
        """A server that loads models as the person's settings say (provider, threads, context, max tokens), on
        ``models`` (the window's host: the window and the API share loaded models) or on a host of its own."""
        return cls(host, port, allow_remote=allow_remote, allowed_hosts=allowed_hosts, provider=settings.provider,
                   threads=settings.threads or None, context=settings.context_length, max_tokens=settings.max_tokens,
                   models=models)

    @property
    def port(self) -> int:
        """The port listened on (the real one once started, when 0 was asked for)."""
        return self._bound_port or self._requested_port

    @property
    def url(self) -> str:
        """The base URL clients use, ending in ``/v1`` (loopback when bound to every interface)."""
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """True while the server accepts requests."""
        return self._server is not None and self._server.started and not self._server.should_exit

    def _prepare(self) -> uvicorn.Server:
        if self._server is not None:
            raise PonderError("This API server was already started.", "Create a new ApiServer to serve again.")
        if not is_loopback(self.host):
            log.warning("The API is served on %s: other computers can reach it (the key is required).", self.host)
        from engine.models.store import list_installed

        self._sock = _bind(self.host, self._requested_port)
        self._bound_port = int(self._sock.getsockname()[1])
        hosts = host_policy(self.host, self.port, allow_remote=self.allow_remote, extra=self.allowed_hosts)
        app = build_app(self.chat, self.embed, list_installed, self.key, hosts)
        config = uvicorn.Config(app, http="h11", ws="none", lifespan="off", log_config=None, log_level="warning",
                                access_log=False, server_header=False, proxy_headers=False,
                                limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        return self._server

    def start(self) -> None:
        """Serve from a background thread; returns once requests are accepted."""
        server = self._prepare()
        assert self._sock is not None
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]},
                                        name="ponder-api-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise PonderError(f"The API server did not start on {self.host} port {self.port}.",
                                  "Run 'ponder -v serve' to see why.")
            time.sleep(0.01)

    def stop(self) -> None:
        """Cancel running requests, stop serving and free the models. Blocks for at most a few seconds (a model
        load in progress finishes first): call it off the GUI thread."""
        self.chat.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(5)
        self._shutdown()

    def _shutdown(self) -> None:
        self.chat.close()
        self.embed.close()
        if self._sock is not None:
            self._sock.close()
        self._thread = None

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _embedder_folder() -> Path:
    from engine.documents.pipeline import embedder_folder

    return embedder_folder()
