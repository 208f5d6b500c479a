"""``pull``: from a catalog name or any Hub repository to an installed model — download (verified), then convert,
or install an official prebuilt ONNX build when the catalog lists one.

A Hub repository (``owner/name`` or ``owner/name@revision``) of a supported architecture is checked before its
weights are fetched: its config.json comes first (the architecture is refused with the reason, or its shape gives
the sizes), then the disk and memory the download, the conversion and running it need, and only then the weights.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.models.catalog import (
    Architecture,
    CatalogEntry,
    ConversionNeeds,
    conversion_needs,
    estimate_ram_bytes,
    find_entry,
)
from engine.models.checkpoint import read_checkpoint_json
from engine.models.convert.manifest import GRAPH_GENAI_FUSED, Manifest, hash_folder, tool_versions, write_manifest
from engine.models.convert.pipeline import (
    CARRIED_FILES,
    convert_checkpoint,
    generation_facts,
    spec_architecture,
)
from engine.models.convert.rope import check_rope
from engine.models.convert.spec import read_spec
from engine.models.hub import Snapshot, download_snapshot
from engine.models.hub_repo import check_repo_id, repo_info
from engine.models.store import InstalledModel, get_installed, install, staging_dir
from engine.system.cancel import CancelToken
from engine.system.errors import CatalogError, ConversionError, DiskSpaceError, StoreError, UnsafeNameError
from engine.system.paths import check_model_name, downloads_dir
from engine.system.progress import Progress, ProgressCallback, Stage, format_bytes, ignore_progress
from engine.system.verify import read_json

PREBUILT_FILES = ("model.onnx", "model.onnx.data", "genai_config.json", *CARRIED_FILES)


def default_name(entry: CatalogEntry, precision: str, provider: str) -> str:
    """The installed name for a catalog model at a precision and provider, e.g. ``deepseek-r1-...-int4``."""
    suffix = "" if provider == "cpu" else f"-{provider}"
    return check_model_name(f"{entry.id}-{precision}{suffix}")


_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")


@dataclass(frozen=True)
class HubModel:
    """A Hub repository Ponder can convert, described before its weights are downloaded."""

    repo_id: str
    revision: str
    commit: str
    license: str
    download_bytes: int
    architecture: Architecture
    params: int
    conversion: ConversionNeeds
    run_ram_bytes: int
    sampling: dict[str, Any]

    def summary(self, precision: str = "int4") -> str:
        """One line for a person: what it is, its licence, and what it needs."""
        a = self.architecture
        size = f"{self.params / 1e9:.1f}B" if self.params >= 1e8 else f"{self.params / 1e6:.1f}M"
        return (f"{self.repo_id}@{self.commit[:12]}: {a.family}, {size} parameters, "
                f"licence {self.license or 'not declared'}; download {format_bytes(self.download_bytes)}, "
                f"{format_bytes(self.conversion.disk_bytes)} on disk at {precision}, "
                f"{format_bytes(self.conversion.ram_bytes)} memory to convert, "
                f"{format_bytes(self.run_ram_bytes)} to run")


def parse_repo_ref(text: str) -> tuple[str, str]:
    """``owner/name[@revision]`` from outside as (repo_id, revision); UnsafeNameError when it is not one."""
    repo_id, _, revision = text.strip().partition("@")
    check_repo_id(repo_id)
    revision = revision or "main"
    if not _REVISION.match(revision) or ".." in revision:
        raise UnsafeNameError(f"Invalid revision {revision!r}.", "Use a branch, a tag or a commit hash.")
    return repo_id, revision


def looks_like_repo(text: str) -> bool:
    """True for text of the form ``owner/name`` (with an optional ``@revision``), the way a Hub id is typed."""
    return "/" in text.partition("@")[0]


def describe_hub_model(ref: str, *, precision: str = "int4", endpoint: str | None = None,
                       token: str | bool | None = None, cancel: CancelToken | None = None) -> HubModel:
    """What a Hub repository is and needs, from its file list and config.json (downloaded alone, a few KB).

    Raises UnsafeNameError for a hostile id, DownloadError when the Hub cannot be asked, ConversionError when the
    architecture is not one Ponder converts (before any weight is downloaded).
    """
    repo_id, revision = parse_repo_ref(ref)
    info = repo_info(repo_id, revision, endpoint=endpoint, token=token, cancel=cancel)
    names = {f.name for f in info.files}
    if "config.json" not in names:
        raise ConversionError(f"{repo_id} has no config.json: it is not a Hugging Face model checkpoint.",
                              "Choose a repository with config.json and *.safetensors weights.")
    weights = [f for f in info.files if f.name.endswith(".safetensors") and "/" not in f.name]
    if not weights:
        hint = ("It only has PyTorch pickles (.bin), which Ponder does not load."
                if any(n.endswith(".bin") for n in info.skipped) else "Choose a repository with safetensors.")
        raise ConversionError(f"{repo_id} has no *.safetensors weights at its top level.", hint)
    head = download_snapshot(repo_id, info.commit, endpoint=endpoint, token=token,
                             allow_patterns=["config.json", "generation_config.json"], cancel=cancel)
    spec = read_spec(read_checkpoint_json(head.path / "config.json"))
    check_rope(spec)
    arch = spec_architecture(spec)
    gen = read_json(head.path / "generation_config.json") or {}
    sampling = {k: gen[k] for k in ("temperature", "top_p", "top_k") if isinstance(gen, dict) and k in gen}
    return HubModel(repo_id=repo_id, revision=revision, commit=info.commit, license=info.license,
                    download_bytes=sum(f.size for f in info.files), architecture=arch,
                    params=arch.total_params(), conversion=conversion_needs(arch, precision),
                    run_ram_bytes=estimate_ram_bytes(arch, precision), sampling=sampling)


def hub_model_name(repo_id: str, precision: str, provider: str) -> str:
    """The installed name of a Hub repository's conversion, e.g. ``qwen3-4b-int4``."""
    base = re.sub(r"[^a-z0-9._-]+", "-", repo_id.split("/", 1)[1].lower()).strip("-.") or "model"
    suffix = "" if provider == "cpu" else f"-{provider}"
    return check_model_name(f"{base[:100]}-{precision}{suffix}")


def _check_room(model: HubModel) -> None:
    """Refuse before downloading when the download and the converted model will not fit on the disk."""
    need = model.download_bytes + model.conversion.disk_bytes
    free = shutil.disk_usage(downloads_dir()).free
    if free < need:
        raise DiskSpaceError(f"{model.repo_id} needs about {format_bytes(need)} free (download "
                             f"{format_bytes(model.download_bytes)} plus the converted model); "
                             f"{format_bytes(free)} is free.", "Free some disk space, then try again.")


def pull_hub(ref: str, *, precision: str = "int4", provider: str = "cpu", name: str | None = None,
             endpoint: str | None = None, token: str | bool | None = None, keep_download: bool = False,
             kv_cache: str = "float", progress: ProgressCallback = ignore_progress,
             cancel: CancelToken | None = None) -> InstalledModel:
    """Download and convert any Hub repository of a supported architecture (see the module docstring)."""
    repo_id, _ = parse_repo_ref(ref)
    name = name or hub_model_name(repo_id, precision, provider)
    try:
        return get_installed(name)
    except StoreError:
        pass
    model = describe_hub_model(ref, precision=precision, endpoint=endpoint, token=token, cancel=cancel)
    progress(Progress(stage=Stage.CHECK, done=1, total=1, unit="steps", message=model.summary(precision)))
    _check_room(model)
    snap = download_snapshot(model.repo_id, model.commit, endpoint=endpoint, token=token, progress=progress,
                             cancel=cancel)
    source = {"repo_id": model.repo_id, "revision": model.revision, "commit": snap.commit, "license": model.license}
    installed = convert_checkpoint(snap.path, name, precision=precision, provider=provider, source=source,
                                   sampling=model.sampling or None, kv_cache=kv_cache, progress=progress,
                                   cancel=cancel)
    if not keep_download:
        shutil.rmtree(snap.path, ignore_errors=True)
    return installed


def pull(model: str, *, precision: str = "int4", provider: str = "cpu", name: str | None = None,
         prebuilt: bool = True, endpoint: str | None = None, token: str | bool | None = None,
         keep_download: bool = False, kv_cache: str = "float", progress: ProgressCallback = ignore_progress,
         cancel: CancelToken | None = None) -> InstalledModel:
    """Download and install a catalog model, or any Hub repository (``owner/name[@revision]``) that is not in
    the catalog; returns the installed model (at once if it is already there).

    With ``prebuilt`` and an official ONNX build listed for this precision and provider, that build is downloaded
    instead of the checkpoint and no conversion runs (never with ``kv_cache="int8"``: prebuilt builds have a float
    cache). This is the work itself: ``engine.models.pulljobs.run_job``
    wraps it
    with the resume record, the lock and the clean-up that ``ponder pull`` and the Models page share.
    """
    try:
        entry = find_entry(model)
    except CatalogError:
        if not looks_like_repo(model):
            raise
        return pull_hub(model, precision=precision, provider=provider, name=name, endpoint=endpoint, token=token,
                        keep_download=keep_download, kv_cache=kv_cache, progress=progress, cancel=cancel)
    name = name or default_name(entry, precision, provider)
    try:
        return get_installed(name)
    except StoreError:
        pass  # not installed yet: fetch it
    build = entry.prebuilt_for(precision, provider) if prebuilt and kv_cache == "float" else None
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
                                       sampling=entry.sampling.__dict__, kv_cache=kv_cache, progress=progress,
                                       cancel=cancel)
    if not keep_download:
        shutil.rmtree(snap.path, ignore_errors=True)
    return installed


def _install_prebuilt(snap: Snapshot, model_dir: Path, name: str, entry: CatalogEntry, precision: str,
                      provider: str, progress: ProgressCallback) -> InstalledModel:
    if not (model_dir / "model.onnx").is_file():
        raise ConversionError(f"The prebuilt ONNX build in {snap.repo_id} has no model.onnx.",
                              "Run the pull again with --convert to build it from the checkpoint.")
    progress(Progress(stage=Stage.INSTALL, done=0, total=1, unit="steps", message="Installing prebuilt model"))
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
    progress(Progress(stage=Stage.INSTALL, done=1, total=1, unit="steps", message=f"Installed {name}"))
    return installed
