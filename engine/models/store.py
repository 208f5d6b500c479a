"""Installed models: one folder each under ``models/``, installed and deleted atomically.

A model folder exists under its name only once it is complete: conversion builds it under ``.staging`` and
renames it into place, and deletion renames it away before removing the files.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.models.convert.manifest import Manifest, read_manifest
from engine.system.errors import StoreError
from engine.system.paths import check_model_name, models_dir

log = logging.getLogger(__name__)
STAGING = ".staging"
TRASH_PREFIX = ".trash-"


@dataclass(frozen=True)
class InstalledModel:
    """A model on disk, ready to load."""

    name: str
    path: Path
    manifest: Manifest


def staging_dir() -> Path:
    """Where conversions build their stages before the final rename."""
    path = models_dir() / STAGING
    path.mkdir(parents=True, exist_ok=True)
    return path


def _valid(folder: Path) -> InstalledModel | None:
    try:
        manifest = read_manifest(folder)
    except StoreError as err:
        log.warning("Ignoring %s: %s", folder, err)
        return None
    for rel, entry in manifest.files.items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != entry.size:
            log.warning("Ignoring %s: %s is missing or has the wrong size", folder, rel)
            return None
    return InstalledModel(folder.name, folder, manifest)


def list_installed() -> list[InstalledModel]:
    """Complete models (manifest present and every listed file with its recorded size), sorted by name."""
    root = models_dir()
    found = (_valid(p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith("."))
    return [m for m in found if m is not None]


def get_installed(name: str) -> InstalledModel:
    """An installed model by name; StoreError naming the installed ones if absent."""
    check_model_name(name)
    folder = models_dir() / name
    model = _valid(folder) if folder.is_dir() else None
    if model is None:
        names = ", ".join(m.name for m in list_installed()) or "none"
        raise StoreError(f"No installed model named {name!r} (installed: {names}).",
                         "Run 'ponder pull MODEL' or 'ponder convert PATH --name NAME'.")
    return model


def find_model(model: str) -> InstalledModel:
    """An installed model by its name, or the installed model pulled from catalog id ``model``."""
    try:
        return get_installed(model)
    except StoreError:
        matches = [m for m in list_installed() if m.manifest.source.get("catalog_id") == model.lower()]
        if not matches:
            raise
        return matches[0]


def install(built: Path, name: str, *, replace: bool = False) -> InstalledModel:
    """Move a finished model folder (with its manifest) into the store under ``name`` in one rename."""
    check_model_name(name)
    read_manifest(built)
    target = models_dir() / name
    if target.exists():
        if not replace:
            raise StoreError(f"A model named {name!r} is already installed.",
                             "Choose another --name, or delete it first ('ponder rm NAME').")
        _remove(target)
    os.replace(built, target)
    model = _valid(target)
    if model is None:
        raise StoreError(f"The model {name!r} did not verify after install.", "Convert it again.")
    return model


def _remove(folder: Path) -> None:
    trash = folder.with_name(f"{TRASH_PREFIX}{folder.name}-{uuid.uuid4().hex[:8]}")
    os.replace(folder, trash)
    shutil.rmtree(trash)


def delete(name: str) -> None:
    """Remove an installed model (it disappears at once; its files are then deleted)."""
    model = get_installed(name)
    _remove(model.path)


def sweep_trash() -> None:
    """Finish deletions a crash interrupted."""
    for path in models_dir().glob(f"{TRASH_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
