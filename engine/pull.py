"""``pull``: from a catalog name to an installed model — download (verified), then convert, or install an
official prebuilt ONNX build when the catalog lists one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from engine.cancel import CancelToken
from engine.catalog import CatalogEntry, find_entry
from engine.convert.manifest import GRAPH_GENAI_FUSED, Manifest, hash_folder, tool_versions, write_manifest
from engine.convert.pipeline import CARRIED_FILES, convert_checkpoint, generation_facts
from engine.errors import ConversionError, StoreError
from engine.hub import Snapshot, download_snapshot
from engine.paths import check_model_name
from engine.progress import Progress, ProgressCallback, ignore_progress
from engine.store import InstalledModel, get_installed, install, staging_dir

PREBUILT_FILES = ("model.onnx", "model.onnx.data", "genai_config.json", *CARRIED_FILES)


def default_name(entry: CatalogEntry, precision: str, provider: str) -> str:
    """The installed name for a catalog model at a precision and provider, e.g. ``deepseek-r1-...-int4``."""
    suffix = "" if provider == "cpu" else f"-{provider}"
    return check_model_name(f"{entry.id}-{precision}{suffix}")


def pull(model: str, *, precision: str = "int4", provider: str = "cpu", name: str | None = None,
         prebuilt: bool = True, endpoint: str | None = None, token: str | bool | None = None,
         keep_download: bool = False, progress: ProgressCallback = ignore_progress,
         cancel: CancelToken | None = None) -> InstalledModel:
    """Download and install a catalog model; returns the installed model (at once if it is already there).

    With ``prebuilt`` and an official ONNX build listed for this precision and provider, that build is downloaded
    instead of the checkpoint and no conversion runs.
    """
    entry = find_entry(model)
    name = name or default_name(entry, precision, provider)
    try:
        return get_installed(name)
    except StoreError:
        pass  # not installed yet: fetch it
    build = entry.prebuilt_for(precision, provider) if prebuilt else None
    if build is not None:
        snap = download_snapshot(build.repo_id, build.revision, endpoint=endpoint, token=token,
                                 subfolder=build.subfolder, progress=progress, cancel=cancel)
        model_dir = snap.path / build.subfolder
        installed = _install_prebuilt(snap, model_dir, name, entry, precision, provider, progress)
    else:
        snap = download_snapshot(entry.repo_id, entry.revision, endpoint=endpoint, token=token, progress=progress,
                                 cancel=cancel)
        source = {"repo_id": entry.repo_id, "revision": entry.revision, "commit": snap.commit,
                  "catalog_id": entry.id, "license": entry.license}
        installed = convert_checkpoint(snap.path, name, precision=precision, provider=provider, source=source,
                                       sampling=entry.sampling.__dict__, progress=progress, cancel=cancel)
    if not keep_download:
        shutil.rmtree(snap.path, ignore_errors=True)
    return installed


def _install_prebuilt(snap: Snapshot, model_dir: Path, name: str, entry: CatalogEntry, precision: str,
                      provider: str, progress: ProgressCallback) -> InstalledModel:
    if not (model_dir / "model.onnx").is_file():
        raise ConversionError(f"The prebuilt ONNX build in {snap.repo_id} has no model.onnx.",
                              "Run the pull again with --convert to build it from the checkpoint.")
    progress(Progress(stage="install", done=0, total=1, unit="steps", message="Installing prebuilt model"))
    final = staging_dir() / f"{name}.prebuilt"
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir()
    for fname in PREBUILT_FILES:
        if (model_dir / fname).is_file():
            shutil.copy2(model_dir / fname, final / fname)
    arch = entry.architecture.__dict__
    manifest = Manifest(
        name=name, precision=precision, graph_form=GRAPH_GENAI_FUSED, providers=[provider], architecture=arch,
        source={"repo_id": snap.repo_id, "revision": snap.revision, "commit": snap.commit,
                "subfolder": str(model_dir.relative_to(snap.path).as_posix()), "catalog_id": entry.id,
                "license": entry.license, "prebuilt": True},
        files=hash_folder(final), quantization={"prebuilt": True},
        generation=generation_facts(final, entry.sampling.__dict__),
        tools=tool_versions(), created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_manifest(final, manifest)
    installed = install(final, name)
    progress(Progress(stage="install", done=1, total=1, unit="steps", message=f"Installed {name}"))
    return installed
