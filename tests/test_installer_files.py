"""Cheap static checks of the installers (installers/, scripts/build_deb.sh, the release workflow): the version has
one source, the PyInstaller spec names what the app loads by name, and the package metadata is well formed. The real
build and install run in scripts/installer_smoke.sh."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring
import pytest
import yaml
from keyring.backends import fail

from engine._version import __version__
from engine.system import secrets

ROOT = Path(__file__).resolve().parent.parent
INSTALLERS = ROOT / "installers"
SPEC = (INSTALLERS / "ponder.spec").read_text(encoding="utf-8")
VARIANTS: dict[str, dict[str, Any]] = json.loads((INSTALLERS / "variants.json").read_text(encoding="utf-8"))["variants"]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ORT_DISTS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")
# Test-only references (pyproject.toml's dev extra): never installed into a build environment nor bundled.
TEST_ONLY_DISTS = ("torch", "transformers", "optimum", "optimum-onnx", "onnx-ir", "safetensors", "onnxruntime-genai",
                   "onnxruntime-genai-cuda", "onnxruntime-genai-directml")
TEST_ONLY_MODULES = ("torch", "transformers", "optimum", "onnxruntime_genai", "sympy")


def _requirement_names(text: str) -> set[str]:
    return {re.split(r"[\[=<>!~; ]", line.strip())[0].lower() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


def test_the_version_is_written_in_one_place() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]\d+|rc\d+)?", __version__)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and 'attr = "engine._version.__version__"' in pyproject
    # Every installer file reads it (spec, scripts, workflow) or is handed it (Inno Setup); none repeats it.
    scripts = ROOT / "scripts"
    files = [*INSTALLERS.rglob("*"), WORKFLOW, scripts / "build_deb.sh", scripts / "installer_smoke.sh"]
    literal = re.compile(rf"(?<![\d.=]){re.escape(__version__)}(?![\d.])")  # "==X.Y.Z" pins other packages
    for path in files:
        if path.is_file() and path.suffix in ("", ".spec", ".iss", ".in", ".sh", ".py", ".yml", ".json", ".desktop"):
            assert not literal.search(path.read_text(encoding="utf-8")), path
    assert '"engine" / "_version.py"' in SPEC and "engine/_version.py" in (scripts / "build_deb.sh").read_text()
    assert "#error" in (INSTALLERS / "windows" / "ponder.iss").read_text(encoding="utf-8")  # no version, no build


def test_ponder_version_prints_it_without_loading_qt() -> None:
    code = ("import sys\nfrom desktop.launch import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "assert not [m for m in sys.modules if m.startswith(('PySide6', 'torch', 'onnxruntime'))], 'heavy'\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"Ponder {__version__}"


def test_the_about_box_shows_name_version_runtime_and_data_folder(qtbot: Any, ponder_home: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import onnxruntime

    from desktop.app import MainWindow
    from engine.system.settings import Settings

    window = MainWindow(Settings())
    qtbot.addWidget(window)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.menu() is not None and "Help" in a.text())
    about = [a for a in help_menu.actions() if "About" in a.text()]
    assert len(about) == 1
    box = window.show_about()
    text = box.text() + "\n" + box.informativeText()
    assert f"Ponder {__version__}" in text and onnxruntime.__version__ in text and str(ponder_home) in text
    box.close()
    window.close()


def _spec_list(name: str) -> list[str]:
    """The string items of a top-level list literal of the spec (``NAME = [...]``), without running PyInstaller."""
    import ast

    for node in ast.parse(SPEC).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            assert isinstance(node.value, ast.List), name
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    raise AssertionError(f"ponder.spec has no {name} list")


def test_the_spec_bundles_what_is_loaded_by_name() -> None:
    compile(SPEC, "ponder.spec", "exec")
    for name in ("keyring.backends.SecretService", "keyring.backends.macOS", "keyring.backends.Windows",
                 "secretstorage", 'collect_submodules("jeepney"', 'collect_submodules("pygments.lexers")',
                 'collect_submodules("engine")', 'collect_submodules("desktop")', 'collect_submodules("uvicorn")',
                 'copy_metadata(dist)', '"keyring"', 'collect_dynamic_libs("onnxruntime"'):
        assert name in SPEC, name
    for excluded in ("QtWebEngineCore", "Qt3DCore", "QtQuick", "QtQml", "/tests/"):
        assert excluded in SPEC, excluded
    # Found in the field: ORT's versioned libraries, and the top-level modules onnxruntime.quantization (the int8
    # embedder) imports from onnxruntime/transformers.
    assert '"*.so.*"' in SPEC and "ORT_TRANSFORMERS" in SPEC
    assert "translations" in SPEC and "catalog.json" in SPEC and "icons" in SPEC
    assert (INSTALLERS / "entry.py").is_file() and "desktop.launch" in (INSTALLERS / "entry.py").read_text()


def test_the_spec_keeps_the_test_only_references_out() -> None:
    """A dev venv holds torch, transformers, optimum and onnxruntime-genai (the tests compare with them); the frozen
    app must not carry them: the spec excludes them, never asks for them, and never copies their metadata."""
    excludes = set(_spec_list("TEST_ONLY"))
    assert set(TEST_ONLY_MODULES) <= excludes, set(TEST_ONLY_MODULES) - excludes
    assert "*TEST_ONLY" in SPEC and "excludes=excludes" in SPEC
    metadata = {d.lower() for d in _spec_list("METADATA")}
    assert not metadata & set(TEST_ONLY_DISTS), metadata & set(TEST_ONLY_DISTS)
    for gone in ("onnxruntime_genai", "GENAI", "builders", 'collect_submodules("transformers"',
                 'collect_submodules("optimum', "torch_shm_manager", 'find_spec("transformers")'):
        assert gone not in SPEC.replace('"onnxruntime_genai",', ""), gone
    # Only the variant's ORT distribution is checked, and the build refuses anything else.
    assert 'list(ort_found) != [VARIANT["onnxruntime"]]' in SPEC and "raise SystemExit" in SPEC


def test_the_frozen_app_knows_its_keyring_backends() -> None:
    names = {f"{b.__module__}.{b.__name__}" for b in secrets.platform_backends()}
    if sys.platform.startswith("linux"):
        assert "keyring.backends.SecretService.Keyring" in names
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        status = secrets.keyring_status()
    finally:
        keyring.set_keyring(previous)
    assert not status.available and "No OS keyring backend was found" in status.reason
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        assert "Secret Service" in status.reason  # it says which keyring it tried and why that failed


def test_a_frozen_app_that_lost_keyring_discovery_picks_a_platform_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fixtures.keyrings import MemoryKeyring

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(secrets, "_frozen_checked", False)
    monkeypatch.setattr(secrets, "platform_backends", lambda: [MemoryKeyring])
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        status = secrets.keyring_status()
    finally:
        keyring.set_keyring(previous)
    assert status.available and status.backend.endswith("MemoryKeyring")


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_each_variant_has_one_onnx_runtime_and_a_ci_job() -> None:
    workflow = _workflow()
    matrix_variants = {inc["variant"] for job in workflow["jobs"].values()
                       for inc in job.get("strategy", {}).get("matrix", {}).get("include", [])}
    matrix_variants |= {job["env"]["PONDER_VARIANT"] for job in workflow["jobs"].values()
                        if "PONDER_VARIANT" in job.get("env", {}) and "matrix" not in job["env"]["PONDER_VARIANT"]}
    assert matrix_variants == set(VARIANTS)
    assert {"linux-x86_64", "linux-x86_64-cuda", "linux-aarch64", "macos-arm64", "windows-directml",
            "windows-cuda"} == set(VARIANTS)
    for name, variant in VARIANTS.items():
        names = _requirement_names((ROOT / variant["requirements"]).read_text(encoding="utf-8"))
        # exactly the variant's ONNX Runtime distribution, and nothing else
        assert variant["onnxruntime"] in ORT_DISTS and names == {variant["onnxruntime"]}, (name, names)
        if variant.get("cuda_libs"):
            assert "[cuda,cudnn]" in (ROOT / variant["requirements"]).read_text(encoding="utf-8"), name


def test_no_variant_carries_genai_torch_transformers_or_optimum() -> None:
    for name, variant in VARIANTS.items():
        assert set(variant) <= {"os", "arch", "runner", "onnxruntime", "providers", "requirements", "package",
                                "cuda_libs"}, (name, set(variant))  # no "genai", no "blocked"
        text = (ROOT / variant["requirements"]).read_text(encoding="utf-8")
        names = _requirement_names(text)
        assert not names & set(TEST_ONLY_DISTS), (name, names & set(TEST_ONLY_DISTS))
        assert not re.search(r"^\s*(onnxruntime-genai|torch|transformers|optimum)", text, re.M | re.I), name
    prepare = (INSTALLERS / "prepare_env.py").read_text(encoding="utf-8")
    assert "--torch-index" not in prepare and '"torch"' not in prepare and "onnxruntime_genai" not in prepare
    assert ".[installers]" in prepare and ".[dev]" not in prepare  # the app's dependencies, not the tests'
    # pyproject.toml: the runtime dependencies hold none of them either (the dev extra does, for the tests).
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _requirement_names("\n".join(project["dependencies"]))
    assert not runtime & set(TEST_ONLY_DISTS), runtime & set(TEST_ONLY_DISTS)
    assert not _requirement_names("\n".join(project["optional-dependencies"]["installers"])) & set(TEST_ONLY_DISTS)


def test_linux_aarch64_is_a_real_release_job() -> None:
    workflow = _workflow()
    linux = workflow["jobs"]["linux"]
    include = {inc["variant"]: inc for inc in linux["strategy"]["matrix"]["include"]}
    aarch64 = include["linux-aarch64"]
    assert aarch64["runner"] == VARIANTS["linux-aarch64"]["runner"] and aarch64["runner"].endswith("-arm")
    # PySide6-Essentials publishes aarch64 wheels for manylinux_2_39 only: an Ubuntu 24.04 (glibc 2.39) runner.
    assert aarch64["runner"].startswith("ubuntu-24.04")
    assert "experimental" not in aarch64 and "continue-on-error" not in linux
    assert "blocked" not in VARIANTS["linux-aarch64"]
    for variant, inc in include.items():
        assert inc["runner"] == VARIANTS[variant]["runner"], variant
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "continue-on-error" not in text and "experimental" not in text
    # The smoke test trains its tiny checkpoint with torch from a venv of its own, never the frozen build venv.
    steps = linux["steps"]
    smoke = next(s for s in steps if "installer_smoke.sh" in s.get("run", ""))
    assert smoke["env"]["PONDER_SMOKE_PYTHON"] != linux["env"]["PONDER_BUILD_VENV"] + "/bin/python"
    build_env = next(s for s in steps if "prepare_env.py" in s.get("run", ""))
    assert "torch" not in build_env["run"]


def test_the_desktop_entry_and_package_metadata() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(INSTALLERS / "linux" / "ponder.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert (d["Type"], d["Name"], d["Exec"], d["Icon"], d["Terminal"]) == ("Application", "Ponder", "ponder", "ponder",
                                                                          "false")
    assert d["Categories"].endswith(";") and d["Keywords"].endswith(";")
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(INSTALLERS / "linux" / "ponder.desktop")], check=True)
    control = (INSTALLERS / "linux" / "control.in").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", control, re.M))
    for dep in ("libxcb-cursor0", "libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3"):
        assert dep in fields["Depends"].split(", "), dep
    assert "fonts-noto-cjk" in fields["Recommends"]
    assert {"@PACKAGE@", "@VERSION@", "@ARCH@", "@INSTALLED_SIZE@"} <= set(re.findall(r"@[A-Z_]+@", control))
    build = (ROOT / "scripts" / "build_deb.sh").read_text(encoding="utf-8")
    assert "/opt/ponder" in build and "/usr/bin/ponder" in build and "hicolor" in build


def test_the_inno_setup_script_installs_per_user_and_keeps_data() -> None:
    iss = (INSTALLERS / "windows" / "ponder.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in iss and "{autoprograms}\\Ponder" in iss
    assert "OutputBaseFilename=Ponder-{#AppVersion}-" in iss
    assert "{localappdata}\\Ponder" in iss and "DelTree(DataDir()" in iss and "MB_DEFBUTTON2" in iss


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_icons() -> None:
    icons = ROOT / "resources" / "icons"
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert _png_size((icons / f"ponder-{size}.png").read_bytes()) == (size, size)
    ico = (icons / "ponder.ico").read_bytes()
    assert struct.unpack("<HHH", ico[:6])[:2] == (0, 1) and struct.unpack("<H", ico[4:6])[0] >= 4
    icns = (icons / "ponder.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert "<svg" in (icons / "ponder.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize("script", ["scripts/build_deb.sh", "scripts/installer_smoke.sh",
                                    "installers/macos/build_dmg.sh"])
def test_the_shell_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(ROOT / script)], check=True)


def _tool(name: str) -> str | None:
    """A linter on PATH, beside this Python, or in build/tools (where scripts/installer_smoke.sh installs it)."""
    for folder in (Path(sys.executable).parent, ROOT / "build" / "tools" / "bin"):
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def test_the_release_workflow_validates() -> None:
    """actionlint when installed; else the GitHub workflow JSON schema (check-jsonschema, a dev dependency, with the
    schema vendored so it works offline)."""
    if actionlint := _tool("actionlint"):
        cmd = [actionlint, str(WORKFLOW)]
    else:
        checker = _tool("check-jsonschema")
        assert checker, "check-jsonschema is missing: install the dev extras (scripts/test.sh does)"
        cmd = [checker, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
