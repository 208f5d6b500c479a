"""Hardware facts and provider probing, and the headless CLI commands that show them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import onnxruntime as ort
import pytest

from engine.cli import main
from engine.system.hardware import PROVIDERS, probe, provider_status


def test_cpu_provider_really_starts() -> None:
    status = provider_status("cpu")
    assert status.works and status.in_build and status.reason == ""


def test_unavailable_providers_say_why() -> None:
    report = probe()
    assert report.best_provider() in PROVIDERS
    assert report.cpu.logical_cores >= 1 and report.ram_total_bytes > 2**30
    for status in report.providers:
        if not status.works:
            assert status.reason, status.key
        if status.key == "dml" and sys.platform != "win32":
            assert status.reason == "DirectML: not Windows."
        if status.key == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
            assert "has no CUDAExecutionProvider" in status.reason


def test_devices_json_through_the_installed_command() -> None:
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ponder"), "devices", "--json"],
                         capture_output=True, text=True, check=True, timeout=120)
    data = json.loads(out.stdout)
    cpu = next(p for p in data["providers"] if p["key"] == "cpu")
    assert cpu["works"] is True
    assert data["cpu"]["logical_cores"] >= 1


def test_models_json_lists_catalog_and_installed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(m["id"] == "deepseek-r1-distill-qwen-1.5b" for m in data["catalog"])
    assert data["installed"] == []


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    from engine import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out
    assert main([]) == 2


def test_convert_of_a_missing_folder_is_a_one_line_error(tmp_path: object,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "/nonexistent/ckpt", "--name", "x", "--provider", "cpu"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ponder: ") and "config.json" in err and len(err.splitlines()) == 1
