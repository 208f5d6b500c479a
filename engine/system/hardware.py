"""What this computer has: CPU, memory, GPUs, and which ONNX Runtime providers really start here (and why not)."""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import psutil
from onnx import TensorProto, helper

from engine.system.ortsession import base_options, new_session

# Short names used in the CLI and settings, in order of preference.
PROVIDERS: dict[str, str] = {
    "cuda": "CUDAExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_LIB_NAMES = {"cuda": "onnxruntime_providers_cuda"}


@dataclass(frozen=True)
class CpuInfo:
    """The processor."""

    name: str
    arch: str
    physical_cores: int
    logical_cores: int
    features: list[str]


@dataclass(frozen=True)
class GpuInfo:
    """One GPU and its memory (0 when unknown)."""

    name: str
    vendor: str
    memory_bytes: int
    free_bytes: int = 0
    driver: str = ""


@dataclass(frozen=True)
class ProviderStatus:
    """Whether an execution provider works here; ``reason`` says why not in words."""

    key: str
    name: str
    in_build: bool
    works: bool
    reason: str = ""


@dataclass(frozen=True)
class HardwareReport:
    """Everything :func:`probe` found."""

    os: str
    cpu: CpuInfo
    ram_total_bytes: int
    ram_available_bytes: int
    gpus: list[GpuInfo]
    providers: list[ProviderStatus]
    onnxruntime: str = field(default=ort.__version__)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)

    def best_provider(self) -> str:
        """The first provider, in order of preference, that works."""
        return next(p.key for p in self.providers if p.works)


def cpu_info() -> CpuInfo:
    """Name, architecture, cores and the SIMD features that matter for int4 kernels."""
    name, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                name = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags.update(value.split())
    elif sys.platform == "darwin":
        out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                             check=False)
        name = out.stdout.strip() or name
    wanted = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "fma", "asimd", "asimddp", "sve", "i8mm"]
    return CpuInfo(name=name, arch=platform.machine(), physical_cores=psutil.cpu_count(logical=False) or 1,
                   logical_cores=psutil.cpu_count(logical=True) or 1, features=[f for f in wanted if f in flags])


def gpu_info() -> list[GpuInfo]:
    """GPUs found through the vendor's tools (nvidia-smi), and Apple silicon's unified memory."""
    gpus: list[GpuInfo] = []
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=name,memory.total,memory.free,driver_version",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10,
                                 check=False)
        except (OSError, subprocess.TimeoutExpired):
            out = None
        for line in out.stdout.splitlines() if out and out.returncode == 0 else []:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 4:
                gpus.append(GpuInfo(parts[0], "NVIDIA", int(float(parts[1])) * 2**20,
                                    int(float(parts[2])) * 2**20, parts[3]))
    if sys.platform == "darwin" and platform.machine() == "arm64":
        gpus.append(GpuInfo("Apple silicon GPU (unified memory)", "Apple", psutil.virtual_memory().total))
    return gpus


def _probe_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 8], np.eye(8, dtype=np.float32).ravel().tolist())
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "probe", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _platform_reason(key: str) -> str:
    if key == "dml" and sys.platform != "win32":
        return "DirectML: not Windows."
    if key == "coreml" and sys.platform != "darwin":
        return "CoreML: not macOS."
    return ""


def _load_failure(key: str) -> str:
    """Try to load the provider's shared library to learn which dependency is missing."""
    lib = _LIB_NAMES.get(key)
    if not lib:
        return ""
    folder = Path(ort.__file__).parent / "capi"
    for candidate in folder.glob(f"*{lib}*"):
        try:
            ctypes.CDLL(str(candidate))
        except OSError as err:
            return str(err).split(": ", 1)[-1]
        return ""
    return f"{lib} is not in this ONNX Runtime."


def provider_status(key: str) -> ProviderStatus:
    """Start a real (tiny) session on the provider and check it is the one running it."""
    name = PROVIDERS[key]
    label = {"cuda": "CUDA", "dml": "DirectML", "coreml": "CoreML", "cpu": "CPU"}[key]
    in_build = name in ort.get_available_providers()
    if not in_build:
        reason = _platform_reason(key) or (
            f"{label}: this ONNX Runtime build ({ort.__version__}) has no {name}; install Ponder's {label} "
            f"variant.")
        return ProviderStatus(key, name, False, False, reason)
    try:
        chain = [name] if key == "cpu" else [name, "CPUExecutionProvider"]
        session = new_session(_probe_model(), base_options(log_severity=4), chain)
        out = session.run(None, {"x": np.ones((1, 8), dtype=np.float32)})[0]
    except Exception as err:  # ORT raises its own RuntimeError subclasses per EP; the text is the reason
        return ProviderStatus(key, name, True, False, f"{label}: {err}".splitlines()[0])
    if session.get_providers()[0] != name:
        detail = _load_failure(key) or "the session fell back to the CPU"
        return ProviderStatus(key, name, True, False, f"{label}: {detail}.")
    if not np.allclose(out, 1.0):
        return ProviderStatus(key, name, True, False, f"{label}: wrong result from a test computation.")
    return ProviderStatus(key, name, True, True)


def probe() -> HardwareReport:
    """Collect CPU, memory, GPU and provider facts (takes about a second)."""
    mem = psutil.virtual_memory()
    system = f"{platform.system()} {platform.release()} ({platform.machine()})"
    return HardwareReport(os=system, cpu=cpu_info(), ram_total_bytes=mem.total, ram_available_bytes=mem.available,
                          gpus=gpu_info(), providers=[provider_status(k) for k in PROVIDERS])


def fit(needs_ram: int, needs_vram: int, report: HardwareReport) -> str:
    """"fits", "slow" (fits only on the CPU or tightly) or "won't fit", from measured RAM and VRAM."""
    gpu_works = any(p.works and p.key != "cpu" for p in report.providers)
    if gpu_works and any(g.memory_bytes >= needs_vram for g in report.gpus):
        return "fits"
    if report.ram_available_bytes >= needs_ram * 1.2:
        return "fits" if not gpu_works else "slow"
    if report.ram_total_bytes >= needs_ram:
        return "slow"
    return "won't fit"


def env_threads() -> int | None:
    """Threads from ``PONDER_THREADS``, if set."""
    value = os.environ.get("PONDER_THREADS")
    return int(value) if value and value.isdigit() else None
