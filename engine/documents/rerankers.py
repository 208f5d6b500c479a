"""The rerankers Ponder offers for documents: the catalog's list, getting one (download from the Hub, then export to
ONNX), and which one retrieval uses — none unless the person chooses one (Settings ``reranker``, or
``$PONDER_RERANKER``).

Reranking is off by default: no cross-encoder's weights could be had where Ponder is built and measured, so its
gain in recall on Ponder's retrieval benchmark (bench/retrieval_quality.py ``--rerank``) against its added query
latency on a laptop CPU is unmeasured. The catalog's default is ``cross-encoder/ms-marco-MiniLM-L-6-v2``
(Apache-2.0, 22.7M parameters, English); ``BAAI/bge-reranker-base`` (MIT, 278M, Chinese and English) is the
bilingual one, about twelve times the work per passage.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

from engine.documents.embedders import FILES
from engine.documents.rerank import CONFIG_FILE, export_reranker
from engine.models.catalog import find_reranker, load_rerankers
from engine.models.hub import download_snapshot
from engine.system.cancel import CancelToken
from engine.system.errors import PonderError
from engine.system.paths import check_model_name, ponder_home
from engine.system.progress import Progress, ProgressCallback, Stage, ignore_progress
from engine.system.settings import load_settings, save_settings

log = logging.getLogger(__name__)
OFF = ("", "off", "none")  # $PONDER_RERANKER values that turn reranking off


def rerankers_dir() -> Path:
    """Where rerankers are installed, one folder each."""
    return ponder_home() / "rerankers"


def installed_rerankers() -> list[Path]:
    """Installed reranker folders (finished exports only), the catalog's default first."""
    root = rerankers_dir()
    if not root.is_dir():
        return []
    folders = [p for p in sorted(root.iterdir()) if (p / CONFIG_FILE).is_file()]
    default = next((e.id for e in load_rerankers() if e.default), "")
    return sorted(folders, key=lambda p: p.name != default)


def reranker_folder() -> Path | None:
    """The reranker retrieval uses, or None for none: ``$PONDER_RERANKER`` (a folder, or "off"), else the one
    chosen in the settings when it is installed."""
    env = os.environ.get("PONDER_RERANKER")
    if env is not None:
        if env.strip().lower() in OFF:
            return None
        folder = Path(env)
        if not (folder / CONFIG_FILE).is_file():
            raise PonderError(f"PONDER_RERANKER points at {folder}, which holds no reranker.",
                              "Unset it, set it to 'off', or point it at a folder made by 'ponder docs reranker'.")
        return folder
    chosen = load_settings().reranker
    if not chosen:
        return None
    for folder in installed_rerankers():
        if folder.name == chosen:
            return folder
    log.warning("The chosen reranker %r is not installed; retrieving without reranking", chosen)
    return None


def use_reranker(reranker_id: str) -> Path | None:
    """Make an installed reranker the one retrieval uses (saved in the settings); "" or "off" turns reranking
    off. Returns its folder, or None when off."""
    if reranker_id.strip().lower() in OFF:
        save_settings(replace(load_settings(), reranker=""))
        return None
    for folder in installed_rerankers():
        if folder.name == reranker_id:
            save_settings(replace(load_settings(), reranker=reranker_id))
            return folder
    installed = ", ".join(p.name for p in installed_rerankers()) or "none"
    raise PonderError(f"The reranker {reranker_id!r} is not installed (installed: {installed}).",
                      f"Get it first: 'ponder docs reranker --get {reranker_id}'.")


def get_reranker(reranker_id: str | None = None, *, endpoint: str | None = None,
                 progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None) -> Path:
    """Download a catalog reranker and export it to ONNX; returns its folder (at once if already installed).

    It is not switched on: :func:`use_reranker` does that. The download resumes after an interruption; the export
    is built beside the final folder and renamed into place, so a failure leaves nothing half-made.
    """
    entry = find_reranker(reranker_id)
    dest = rerankers_dir() / check_model_name(entry.id)
    if (dest / CONFIG_FILE).is_file():
        return dest
    snap = download_snapshot(entry.repo_id, entry.revision, endpoint=endpoint, allow_patterns=FILES,
                             progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled("Getting the reranker")
    progress(Progress(stage=Stage.EXPORT, done=0, total=1, unit="steps", message=f"Preparing {entry.name} for ONNX"))
    folder = export_reranker(snap.path, dest, quantize=True)
    progress(Progress(stage=Stage.EXPORT, done=1, total=1, unit="steps", message=f"{entry.name} is ready"))
    shutil.rmtree(snap.path, ignore_errors=True)
    return folder
