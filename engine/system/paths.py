"""Where Ponder keeps its data, and the checks every name from outside goes through."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

import platformdirs

from engine.system.errors import UnsafeNameError

APP_NAME = "Ponder"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DRIVE = re.compile(r"^[A-Za-z]:")


def ponder_home() -> Path:
    """The data folder: ``$PONDER_HOME`` if set, else the platform's user data dir. Created if missing."""
    env = os.environ.get("PONDER_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def models_dir() -> Path:
    """Folder of installed (converted) models, one sub-folder each."""
    path = ponder_home() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def downloads_dir() -> Path:
    """Folder of downloaded Hub snapshots, complete or in progress."""
    path = ponder_home() / "downloads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_relative_path(name: str) -> PurePosixPath:
    """Check a remote file name and return it as a relative POSIX path that stays inside its folder.

    Refuses empty names, NUL and other control characters, absolute paths, drive letters, backslashes and any
    ``..`` or ``.`` component.
    """
    if not name or any(ord(ch) < 32 for ch in name):
        raise UnsafeNameError(f"Refused file name {name!r}: empty or contains control characters.",
                              "The repository is malformed or hostile; choose another source.")
    if "\\" in name or name.startswith("/") or _DRIVE.match(name):
        raise UnsafeNameError(f"Refused file name {name!r}: it is absolute or uses backslashes.",
                              "The repository is malformed or hostile; choose another source.")
    path = PurePosixPath(name)
    if any(part in ("..", ".", "") for part in name.split("/")):
        raise UnsafeNameError(f"Refused file name {name!r}: it would leave the model's folder.",
                              "The repository is malformed or hostile; choose another source.")
    return path


def resolve_inside(root: Path, name: str) -> Path:
    """Join a checked remote name onto ``root`` and confirm the result really lies inside ``root``."""
    rel = safe_relative_path(name)
    target = (root / Path(*rel.parts)).resolve()
    base = root.resolve()
    if target != base and base not in target.parents:
        raise UnsafeNameError(f"Refused file name {name!r}: it resolves outside {base}.",
                              "The repository is malformed or hostile; choose another source.")
    return target


def check_model_name(name: str) -> str:
    """Validate a user-chosen model name (folder name): letters, digits, '.', '_' and '-', at most 128."""
    if not _MODEL_NAME.match(name) or name in (".", ".."):
        raise UnsafeNameError(f"Invalid model name {name!r}.",
                              "Use letters, digits, '.', '_' or '-' (up to 128), starting with a letter or digit.")
    return name
