"""Which model to offer first, whether each model fits this computer, and about how fast it would answer.

Everything here is pure arithmetic on a :class:`~engine.system.hardware.HardwareReport` (measured RAM, VRAM, cores
and the
providers that really start) and the catalog's sizes; nothing is loaded or measured.

Decode speed estimate (tokens/s). Decoding one token reads every weight once, so speed is memory bandwidth divided
by the weights' size. We calibrate on our own measurement instead of guessing bandwidths:

* CPU: ``28 tok/s × (0.95 GiB / weights) × cores(n)`` where 28 tok/s is DeepSeek-R1-Distill-Qwen-1.5B int4
  measured on a 2-core AMD EPYC VM with AVX-512 (with the 1.70 GiB graph of the first converter; Ponder's own
  converter's 0.95 GiB graph decodes at the same speed, 1.07x and 0.91x of it in two A/B runs on one VM:
  bench/ab_graphs.py), and
  ``cores(n) = (min(n, 8) / 2) ** 0.75`` with ``n`` the physical cores: 1.0 at 2 cores, 1.68 at 4, 2.83 at 8 and
  no gain past 8 (more threads stop helping once memory bandwidth is saturated; the 0.75 exponent is those
  diminishing returns).
* GPU (CUDA or DirectML, when the weights fit in its memory): ``250 GB/s / weights``: about 70% of a mid-range
  discrete GPU's nominal bandwidth (an RTX 3060 has 360 GB/s; larger cards are faster, laptops slower).

It is an estimate: CPUs without AVX-512, busy machines and long contexts are slower; the UI says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.models.catalog import CatalogEntry, Needs, conversion_needs, estimate_disk_bytes, estimate_ram_bytes
from engine.system.errors import CatalogError
from engine.system.hardware import HardwareReport, fit

#: Calibration: 1.5B int4 weights (bytes) and the decode speed measured with them on 2 physical cores.
REFERENCE_WEIGHTS_BYTES = 0.95 * 2**30
REFERENCE_TOKENS_PER_S = 28.0
REFERENCE_CORES = 2
MAX_USEFUL_CORES = 8
CORE_SCALING_EXPONENT = 0.75
#: Effective bytes/s a GPU decodes at: about 70% of a mid-range discrete GPU's nominal bandwidth.
GPU_BYTES_PER_S = 250e9
#: A reasoning model thinks for hundreds of tokens before answering; below this a reply takes minutes.
COMFORTABLE_TOKENS_PER_S = 15.0
GPU_PROVIDERS = ("cuda", "dml")
FALLBACK_ID = "deepseek-r1-distill-qwen-1.5b"

FITS, SLOW, WONT_FIT = "fits", "slow", "won't fit"


@dataclass(frozen=True)
class Recommendation:
    """The model to offer first, with how it would run here."""

    entry: CatalogEntry
    precision: str
    provider: str
    fit: str
    expected_tokens_per_s: float
    reason: str


def auto_provider(report: HardwareReport) -> str:
    """The provider a model is built for when the setting is "auto": a working CUDA or DirectML GPU, else the CPU
    (the same choice as ``ponder pull --provider auto``)."""
    working = {p.key for p in report.providers if p.works}
    return next((key for key in GPU_PROVIDERS if key in working), "cpu")


def needs(entry: CatalogEntry, precision: str) -> Needs:
    """Disk and memory ``precision`` needs: the catalog's figures, else estimated from the architecture."""
    if precision in entry.needs:
        return entry.needs[precision]
    ram = estimate_ram_bytes(entry.architecture, precision)
    return Needs(disk_bytes=estimate_disk_bytes(entry.architecture, precision), ram_bytes=ram, vram_bytes=ram)


def provider_for(precision: str, report: HardwareReport) -> str | None:
    """The provider ``precision`` would run on here, or None when it cannot run (fp16 needs CUDA or DirectML)."""
    provider = auto_provider(report)
    if precision == "fp16" and provider not in GPU_PROVIDERS:
        return None
    return provider


def fit_badge(entry: CatalogEntry, precision: str, report: HardwareReport) -> str:
    """"fits", "slow" (only on the CPU, or tight) or "won't fit" for ``entry`` at ``precision`` on this computer:
    running it, and converting it first when no prebuilt build is used.

    fp16 builds run only on CUDA or DirectML, so without such a GPU they "won't fit".
    """
    provider = provider_for(precision, report)
    if provider is None:
        return WONT_FIT
    need = needs(entry, precision)
    ram = need.ram_bytes
    if entry.prebuilt_for(precision, provider) is None:  # converted here first: that must fit too
        ram = max(ram, conversion_needs(entry.architecture, precision).ram_bytes)
    return fit(ram, need.vram_bytes, report)


#: Context lengths the Models page states memory for (issue 16: the sizes people use).
MEMORY_CONTEXTS = (8192, 16384, 32768)


@dataclass(frozen=True)
class ContextMemory:
    """Memory a model takes once its conversation has filled ``context`` tokens, with either KV cache."""

    context: int
    float_cache_bytes: int
    int8_cache_bytes: int | None  # None where an int8 cache cannot run (GPU builds)


def memory_by_context(entry: CatalogEntry, precision: str, contexts: tuple[int, ...] = MEMORY_CONTEXTS
                      ) -> list[ContextMemory]:
    """What ``entry`` at ``precision`` takes in memory at each of ``contexts`` (capped at the model's own context
    length; longer ones are left out): weights, overhead and the KV cache, which grows with the conversation, so a
    short conversation takes less. The int8 cache (CPU builds) takes a quarter of the float cache."""
    arch = entry.architecture
    out: list[ContextMemory] = []
    for context in contexts:
        if context > arch.context_length:
            continue
        int8 = None if precision == "fp16" else estimate_ram_bytes(arch, precision, context, kv_cache="int8")
        out.append(ContextMemory(context, estimate_ram_bytes(arch, precision, context), int8))
    return out


def cpu_core_scale(physical_cores: int) -> float:
    """Decode speed relative to the 2-core calibration machine: ``(min(n, 8) / 2) ** 0.75``."""
    cores = max(1, min(physical_cores, MAX_USEFUL_CORES))
    return float((cores / REFERENCE_CORES) ** CORE_SCALING_EXPONENT)


def _on_gpu(need: Needs, report: HardwareReport) -> bool:
    return auto_provider(report) in GPU_PROVIDERS and any(g.memory_bytes >= need.vram_bytes for g in report.gpus)


def expected_decode_tokens_per_s(entry: CatalogEntry, precision: str, report: HardwareReport) -> float:
    """Estimated decode speed in tokens/s on this computer (0.0 when it won't fit); see the module docstring."""
    if fit_badge(entry, precision, report) == WONT_FIT:
        return 0.0
    need = needs(entry, precision)
    weights = max(need.disk_bytes, 1)
    if _on_gpu(need, report):
        return GPU_BYTES_PER_S / weights
    return REFERENCE_TOKENS_PER_S * REFERENCE_WEIGHTS_BYTES / weights * cpu_core_scale(report.cpu.physical_cores)


def download_bytes(entry: CatalogEntry, precision: str, provider: str) -> int:
    """About how much a pull downloads: an official ONNX build's size when the catalog lists one for this precision
    and provider, else the checkpoint's size."""
    if entry.prebuilt_for(precision, provider) is not None:
        return needs(entry, precision).disk_bytes
    return entry.download_bytes


def _is_r1_distill(entry: CatalogEntry) -> bool:
    key = entry.id.lower()
    return "r1" in key and "distill" in key


def recommend(catalog: list[CatalogEntry], report: HardwareReport) -> Recommendation:
    """The best reasoning model that fits comfortably at int4: fits in memory and decodes at least
    ``COMFORTABLE_TOKENS_PER_S``; R1 distills first, then the largest. Falls back to the 1.5B distill (or the
    smallest reasoning model) when none does, saying why."""
    if not catalog:
        raise CatalogError("The model catalog is empty.", "Reinstall Ponder.")
    precision = "int4"
    provider = auto_provider(report)
    pool = [e for e in catalog if e.reasoning] or list(catalog)
    speeds = {e.id: expected_decode_tokens_per_s(e, precision, report) for e in pool}
    comfortable = [e for e in pool if fit_badge(e, precision, report) == FITS
                   and speeds[e.id] >= COMFORTABLE_TOKENS_PER_S]
    where = "the GPU" if provider in GPU_PROVIDERS else f"{report.cpu.physical_cores} CPU cores"
    if comfortable:
        best = max(comfortable, key=lambda e: (_is_r1_distill(e), e.params))
        reason = (f"The largest reasoning model that fits in memory and answers at a comfortable speed on "
                  f"{where}.")
    else:
        best = next((e for e in pool if e.id == FALLBACK_ID), None) or min(
            pool, key=lambda e: (not _is_r1_distill(e), e.params))
        badge = fit_badge(best, precision, report)
        reason = {FITS: f"The smallest reasoning model; larger ones would be slow on {where}.",
                  SLOW: "The smallest reasoning model; memory is tight here, so it may be slow.",
                  WONT_FIT: "The smallest reasoning model; this computer may not have enough free memory for it."
                  }[badge]
    return Recommendation(entry=best, precision=precision, provider=provider, fit=fit_badge(best, precision, report),
                          expected_tokens_per_s=speeds[best.id], reason=reason)
