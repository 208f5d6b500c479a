"""What the Hugging Face Hub (or a mirror) says of a repository, before anything is downloaded: its commit, the files
Ponder would fetch (data files only, every name checked), licence and gating; the Hub address and token rules.
:mod:`engine.models.hub` downloads what this plans."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from engine.models.transfer import fetch_model_info
from engine.system.cancel import CancelToken
from engine.system.errors import DownloadError, UnsafeNameError
from engine.system.paths import safe_relative_path
from engine.system.privacy import offline_reason
from engine.system.secrets import TokenStore

DEFAULT_ENDPOINT = "https://huggingface.co"
#: File-name patterns (matched case-insensitively against the base name) that may be downloaded.
ALLOWED_PATTERNS: tuple[str, ...] = (
    "*.safetensors", "*.json", "*.onnx", "*.onnx.data", "*.onnx_data", "*.jinja", "*.txt", "*.md",
    "tokenizer.model", "spiece.model", "sentencepiece.model", "sentencepiece.bpe.model", "*.tiktoken",
    "vocab.txt", "merges.txt",
)
READ_TIMEOUT_S = 30.0  # a read stalled this long counts as a dropped connection
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class RemoteFile:
    """One repository file: name relative to the repo root, size, LFS sha256 or (non-LFS) git blob sha1."""

    name: str
    size: int
    sha256: str | None
    git_sha1: str | None


def hub_endpoint(override: str | None = None) -> str:
    """The Hub address: ``override``, else ``$HF_ENDPOINT`` (read now), else huggingface.co; no trailing slash."""
    return (override or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def is_allowed_file(name: str) -> bool:
    """True if ``name`` is a data file type Ponder downloads (never pickles, checkpoints or code)."""
    base = name.rsplit("/", 1)[-1].lower()
    return any(fnmatch.fnmatchcase(base, pattern) for pattern in ALLOWED_PATTERNS)


def check_online(repo_id: str, endpoint: str) -> None:
    """Refuse (DownloadError, with the reason) while offline mode is on."""
    reason = offline_reason()
    if reason:
        raise DownloadError(f"Cannot download {repo_id}: {reason[0].lower()}{reason[1:]}.",
                            "Switch offline mode off (Settings › Privacy and network; or unset PONDER_OFFLINE and "
                            "HF_HUB_OFFLINE), or use a model that is already installed.")


def resolve_token(token: str | bool | None) -> str | None:
    """The Hub token to send: ``False`` none, ``None``/``True`` the one in the keyring, else ``token`` itself."""
    if token is False:
        return None
    if token is None or token is True:
        return TokenStore().get()
    return token


@dataclass(frozen=True)
class RepoInfo:
    """What the Hub says of a repository at a revision: the commit, the files Ponder would fetch, the names it
    skips, its licence (from the model card, "" when none is declared) and whether it is gated."""

    repo_id: str
    commit: str
    files: list[RemoteFile]
    skipped: list[str]
    license: str
    gated: bool


def check_repo_id(repo_id: str) -> str:
    """A Hub repository id ``owner/name`` from outside, checked; UnsafeNameError naming it otherwise."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise UnsafeNameError(f"Invalid repository id {repo_id!r}.", "Use the form 'owner/name'.") from err
    if repo_id.count("/") != 1:
        raise UnsafeNameError(f"Invalid repository id {repo_id!r}.", "Use the form 'owner/name'.")
    return repo_id


def repo_info(repo_id: str, revision: str = "main", *, endpoint: str | None = None,
              token: str | bool | None = None, subfolder: str | None = None,
              allow_patterns: Sequence[str] | None = None, cancel: CancelToken | None = None) -> RepoInfo:
    """Ask the Hub about a repository and what to fetch from it.

    ``subfolder`` keeps only files under that folder; ``allow_patterns`` (globs on the full name) keeps only
    matching files. Every remote name is checked: one hostile name fails the whole plan with UnsafeNameError.
    """
    check_repo_id(repo_id)
    ep = hub_endpoint(endpoint)
    check_online(repo_id, ep)
    info = fetch_model_info(repo_id, revision, ep, resolve_token(token), cancel or CancelToken(),
                            timeout=READ_TIMEOUT_S)
    commit = getattr(info, "sha", None)
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise DownloadError(f"The Hub did not report a valid commit for {repo_id}@{revision}.", "Try again later.")
    prefix = str(safe_relative_path(subfolder.strip("/"))) + "/" if subfolder else ""
    files: list[RemoteFile] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for sib in info.siblings or []:
        name = sib.rfilename
        safe_relative_path(name)  # raises UnsafeNameError naming the file
        if not name.startswith(prefix) or (allow_patterns and not any(
                fnmatch.fnmatchcase(name, p) for p in allow_patterns)):
            continue
        if not is_allowed_file(name) or any(part.startswith(".") for part in name.split("/")):
            skipped.append(name)  # hidden names could also pass for Ponder's own state files
            continue
        size = sib.size if sib.size is not None else (sib.lfs.size if sib.lfs else None)
        if size is None or size < 0:
            raise DownloadError(f"The Hub did not report the size of {name} in {repo_id}.", "Try again later.")
        if name.casefold() in seen:  # would overwrite each other on Windows and macOS
            raise UnsafeNameError(f"Refused file name {name!r}: it clashes with another file's name.",
                                  "The repository is malformed or hostile; choose another source.")
        seen.add(name.casefold())
        lfs = sib.lfs
        files.append(RemoteFile(name, int(size), lfs.sha256.lower() if lfs else None,
                                None if lfs or not sib.blob_id else sib.blob_id.lower()))
    return RepoInfo(repo_id, commit, files, skipped, _license(info), bool(getattr(info, "gated", False)))


def _license(info: Any) -> str:
    card = getattr(info, "card_data", None)
    value = card.get("license") if card is not None and hasattr(card, "get") else None
    if isinstance(value, str) and value:
        return value
    for tag in getattr(info, "tags", None) or []:
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return ""


def plan_download(repo_id: str, revision: str = "main", *, endpoint: str | None = None,
                  token: str | bool | None = None, subfolder: str | None = None,
                  allow_patterns: Sequence[str] | None = None,
                  cancel: CancelToken | None = None) -> tuple[str, list[RemoteFile], list[str]]:
    """Ask the Hub what to fetch: (resolved commit sha, files to download, names skipped as unsafe types)."""
    info = repo_info(repo_id, revision, endpoint=endpoint, token=token, subfolder=subfolder,
                     allow_patterns=allow_patterns, cancel=cancel)
    return info.commit, info.files, info.skipped
