"""The embedding models Ponder offers for documents: the catalog's list, getting one (download from the Hub, then
export to ONNX), and which one is in use.

The default is ``intfloat/multilingual-e5-small``: MIT licence, 118M parameters (470 MB download, about 470 MB
as fp32 ONNX), 384 dimensions, 512 tokens, about 100 languages — Chinese and English questions and documents, and
one asked about the other — and the best retrieval of the small multilingual models on MTEB and C-MTEB.
``all-MiniLM-L6-v2`` (Apache-2.0, 23M) is the small English-only alternative.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

from engine.documents.embed import CONFIG_FILE, export_embedder
from engine.models.catalog import find_embedder, load_embedders
from engine.models.hub import download_snapshot
from engine.system.cancel import CancelToken
from engine.system.errors import PonderError
from engine.system.paths import ponder_home
from engine.system.progress import Progress, ProgressCallback, Stage, ignore_progress
from engine.system.settings import load_settings, save_settings

log = logging.getLogger(__name__)

# what an embedder export reads; never weights in pickle form, never code
FILES = ("*.json", "model.safetensors", "vocab.txt", "sentencepiece.bpe.model", "1_Pooling/*")


def embedders_dir() -> Path:
    """Where embedders are installed, one folder each."""
    return ponder_home() / "embedders"


def installed_embedders() -> list[Path]:
    """Installed embedder folders (finished exports only), the catalog's default first."""
    root = embedders_dir()
    if not root.is_dir():
        return []
    folders = [p for p in sorted(root.iterdir()) if (p / CONFIG_FILE).is_file()]
    default = next((e.id for e in load_embedders() if e.default), "")
    return sorted(folders, key=lambda p: p.name != default)


def embedder_folder() -> Path:
    """The embedding model in use: ``$PONDER_EMBEDDER``, else the default one if installed, else any installed."""
    env = os.environ.get("PONDER_EMBEDDER")
    if env:
        folder = Path(env)
        if not (folder / CONFIG_FILE).is_file():
            raise PonderError(f"PONDER_EMBEDDER points at {folder}, which holds no embedding model.",
                              "Unset it, or point it at a folder made by 'ponder docs embedder'.")
        return folder
    installed = installed_embedders()
    chosen = load_settings().embedder
    if chosen:
        for folder in installed:
            if folder.name == chosen:
                return folder
        log.warning("The chosen embedding model %r is not installed; using %s", chosen,
                    installed[0].name if installed else "none")
    if not installed:
        default = find_embedder()
        raise PonderError("No embedding model is installed for documents.",
                          f"Get one: 'ponder docs embedder --get' downloads {default.name} "
                          f"({default.download_bytes / 1e6:.0f} MB), or use the button in the documents bar.")
    return installed[0]


def use_embedder(embedder_id: str) -> Path:
    """Make an installed embedder the one documents use (saved in the settings); returns its folder.

    Collections indexed with another model are indexed again the next time indexing runs.
    """
    for folder in installed_embedders():
        if folder.name == embedder_id:
            save_settings(replace(load_settings(), embedder=embedder_id))
            return folder
    installed = ", ".join(p.name for p in installed_embedders()) or "none"
    raise PonderError(f"The embedding model {embedder_id!r} is not installed (installed: {installed}).",
                      f"Get it first: 'ponder docs embedder --get {embedder_id}'.")


def get_embedder(embedder_id: str | None = None, *, endpoint: str | None = None,
                 progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None) -> Path:
    """Download a catalog embedder and export it to ONNX; returns its folder (at once if already installed).

    The download resumes after an interruption; the export is built beside the final folder and renamed into
    place, so a failure leaves nothing half-made.
    """
    entry = find_embedder(embedder_id)
    dest = embedders_dir() / entry.id
    if (dest / CONFIG_FILE).is_file():
        return dest
    snap = download_snapshot(entry.repo_id, entry.revision, endpoint=endpoint, allow_patterns=FILES,
                             progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled("Getting the embedding model")
    progress(Progress(stage=Stage.EXPORT, done=0, total=1, unit="steps", message=f"Preparing {entry.name} for ONNX"))
    folder = export_embedder(snap.path, dest, quantize=True, query_prefix=entry.query_prefix,
                             passage_prefix=entry.passage_prefix)
    progress(Progress(stage=Stage.EXPORT, done=1, total=1, unit="steps", message=f"{entry.name} is ready"))
    shutil.rmtree(snap.path, ignore_errors=True)
    return folder
