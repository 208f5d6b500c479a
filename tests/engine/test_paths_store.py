"""Names from outside stay inside their folder; the store installs and deletes atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.models.convert.manifest import Manifest, hash_folder, write_manifest
from engine.models.store import delete, get_installed, install, list_installed
from engine.system import paths
from engine.system.errors import StoreError, UnsafeNameError
from engine.system.paths import check_model_name, models_dir, resolve_inside, safe_relative_path


@pytest.mark.parametrize("name", ["../x", "a/../../b", "/etc/passwd", "C:\\x", "C:x", "a\\b", "a\0b", "", "./a",
                                  "a//b", "a/", "\n"])
def test_hostile_remote_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        safe_relative_path(name)


def test_plain_names_pass_and_stay_inside(tmp_path: Path) -> None:
    assert safe_relative_path("onnx/model.onnx").parts == ("onnx", "model.onnx")
    assert resolve_inside(tmp_path, "a/b.json") == (tmp_path / "a" / "b.json").resolve()


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafeNameError, match="outside"):
        resolve_inside(tmp_path / "root", "link/x.json")


@pytest.mark.parametrize("name", ["..", "a/b", "-x", "a b", "x" * 200, ""])
def test_bad_model_names(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        check_model_name(name)


def test_ponder_home_follows_the_environment(ponder_home: Path) -> None:
    assert paths.ponder_home() == ponder_home and models_dir().parent == ponder_home


def _built(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"graph")
    manifest = Manifest(name=name, precision="int4", graph_form="genai-fused-gqa", providers=["cpu"],
                        architecture={}, source={}, files=hash_folder(folder))
    write_manifest(folder, manifest)
    return folder


def test_install_list_delete(tmp_path: Path) -> None:
    model = install(_built(tmp_path / "b", "m"), "m")
    assert [m.name for m in list_installed()] == ["m"] and get_installed("m").path == model.path
    with pytest.raises(StoreError, match="already installed"):
        install(_built(tmp_path / "c", "m"), "m")
    delete("m")
    assert list_installed() == []
    with pytest.raises(StoreError, match="No installed model named 'm'"):
        get_installed("m")


def test_incomplete_folders_are_not_models(tmp_path: Path) -> None:
    (models_dir() / "half").mkdir()
    (models_dir() / "half" / "model.onnx").write_bytes(b"x")  # no manifest: a conversion that never finished
    model = install(_built(tmp_path / "b", "truncated"), "truncated")
    (model.path / "model.onnx").write_bytes(b"gra")  # a file shorter than the manifest says
    broken = install(_built(tmp_path / "c", "damaged"), "damaged")
    (broken.path / "manifest.json").write_text(json.dumps({"schema": 99}))
    assert list_installed() == []


def test_run_with_progress_yields_reports_and_returns() -> None:
    from engine.system.progress import Progress, run_with_progress

    def work(n: int, progress: object) -> str:
        for i in range(n):
            progress(Progress("convert", i + 1, n, unit="steps"))  # type: ignore[operator]
        return "ok"

    gen = run_with_progress(work, 3)
    seen = []
    try:
        while True:
            seen.append(next(gen).done)
    except StopIteration as stop:
        assert stop.value == "ok"
    assert seen == [1, 2, 3]

    def boom(progress: object) -> None:
        raise StoreError("broken", "fix it")

    with pytest.raises(StoreError, match="broken"):
        list(run_with_progress(boom))
