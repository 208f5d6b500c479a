"""Remote engines: OpenAI-compatible servers elsewhere (vLLM, Ollama, exo, another Ponder) that Ponder chats with.

The list lives in ``remotes.json`` under the data folder (name and URL only); each engine's key goes to the OS
keyring. :meth:`RemoteEngines.chat_model` gives the :class:`engine.serve.remote_chat.RemoteChatModel` that streams
a remote model's reply as the same events as a local model.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from engine.serve.remote_chat import RemoteChatModel
from engine.serve.remote_http import RemoteEngine, model_rows
from engine.system.errors import PonderError
from engine.system.paths import ponder_home
from engine.system.secrets import Secret
from engine.system.verify import read_json, write_json_atomic

REMOTES_FILE = "remotes.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_engine_name(name: str) -> str:
    """A remote engine's name: letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit."""
    if not _NAME.match(name):
        raise PonderError(f"Invalid engine name {name!r}.",
                          "Use letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit.")
    return name


def normalize_url(url: str) -> str:
    """The API base URL for what a person typed: http(s) only, no credentials, query or fragment; a bare
    ``http://host:port`` gets ``/v1``; no trailing slash."""
    text = url.strip()
    parts = urlsplit(text)
    hint = "Give the server's address, e.g. http://192.168.1.20:8000/v1."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PonderError(f"Not an http(s) URL: {url!r}.", hint)
    if parts.username or parts.password:
        raise PonderError("The URL must not contain a user name or password.", "Give the key separately.")
    if parts.query or parts.fragment:
        raise PonderError(f"The URL must not have a query or fragment: {url!r}.", hint)
    try:
        parts.port  # noqa: B018 -- validates the port
    except ValueError as err:
        raise PonderError(f"Invalid port in {url!r}.", hint) from err
    path = parts.path.rstrip("/") or "/v1"
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def _secret(name: str) -> Secret:
    return Secret(f"remote-engine:{name}")


class RemoteEngines:
    """The saved remote engines (``remotes.json`` under the data folder; keys in the keyring)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ponder_home() / REMOTES_FILE

    def engines(self) -> list[RemoteEngine]:
        """The saved engines, sorted by name (entries that are not valid are skipped)."""
        data = read_json(self.path)
        rows = data.get("engines") if isinstance(data, dict) else None
        out = []
        for row in rows if isinstance(rows, list) else []:
            try:
                out.append(RemoteEngine(check_engine_name(str(row["name"])), normalize_url(str(row["url"]))))
            except (PonderError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda e: e.name)

    def _save(self, engines: list[RemoteEngine]) -> None:
        write_json_atomic(self.path, {"engines": [{"name": e.name, "url": e.url} for e in engines]})

    def get(self, name: str) -> RemoteEngine:
        """The engine called ``name``; PonderError naming the saved ones if there is none."""
        for engine in self.engines():
            if engine.name == name:
                return engine
        names = ", ".join(e.name for e in self.engines()) or "none"
        raise PonderError(f"No remote engine named {name!r} (saved: {names}).",
                          "Add it with 'ponder remote add NAME URL'.")

    def add(self, name: str, url: str, key: str | None = None, *, replace: bool = False) -> RemoteEngine:
        """Save an engine; ``key`` goes to the keyring (None: the engine needs none, and any old key is
        forgotten). Refuses an existing name unless ``replace``."""
        engine = RemoteEngine(check_engine_name(name), normalize_url(url))
        engines = self.engines()
        if any(e.name == name for e in engines) and not replace:
            raise PonderError(f"A remote engine named {name!r} already exists.",
                              "Choose another name, or pass --replace to change it.")
        slot = _secret(name)
        if key:
            slot.set(key)
        else:
            slot.clear()
        self._save([e for e in engines if e.name != name] + [engine])
        return engine

    def remove(self, name: str) -> None:
        """Forget an engine and its key."""
        self.get(name)
        self._save([e for e in self.engines() if e.name != name])
        _secret(name).clear()

    def key(self, name: str) -> str | None:
        """The engine's key from the keyring, or None."""
        return _secret(name).get()

    def models(self, name: str, timeout: float = 15.0) -> list[str]:
        """The model names the engine serves (``GET /models``)."""
        return [row["id"] for row in model_rows(self.get(name), self.key(name), timeout)]

    def chat_model(self, name: str, model: str) -> RemoteChatModel:
        """A chat client for ``model`` on engine ``name``."""
        return RemoteChatModel(self.get(name), model, self.key(name))
