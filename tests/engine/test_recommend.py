"""Fit badges, the decode-speed estimate and the first-run recommendation, on synthetic hardware reports."""

from __future__ import annotations

import pytest

from engine.models.catalog import CatalogEntry, load_catalog
from engine.models.recommend import (
    COMFORTABLE_TOKENS_PER_S,
    FALLBACK_ID,
    REFERENCE_TOKENS_PER_S,
    auto_provider,
    cpu_core_scale,
    download_bytes,
    expected_decode_tokens_per_s,
    fit_badge,
    memory_by_context,
    needs,
    recommend,
)
from engine.system.errors import CatalogError
from engine.system.hardware import CpuInfo, GpuInfo, HardwareReport, ProviderStatus

GB = 10**9


def report(*, cores: int = 2, ram_gb: float = 16, available_gb: float | None = None, gpu_gb: float = 0,
           gpu_provider: str = "cuda") -> HardwareReport:
    gpus = [GpuInfo("Test GPU", "NVIDIA", int(gpu_gb * GB))] if gpu_gb else []
    providers = [ProviderStatus(k, k, True, k == "cpu" or (bool(gpu_gb) and k == gpu_provider))
                 for k in ("cuda", "dml", "coreml", "cpu")]
    return HardwareReport(os="Test OS", cpu=CpuInfo("Test CPU", "x86_64", cores, cores, ["avx2"]),
                          ram_total_bytes=int(ram_gb * GB),
                          ram_available_bytes=int((available_gb if available_gb is not None else ram_gb) * GB),
                          gpus=gpus, providers=providers)


@pytest.fixture(scope="module")
def catalog() -> list[CatalogEntry]:
    return load_catalog()


def by_id(catalog: list[CatalogEntry], model_id: str) -> CatalogEntry:
    return next(e for e in catalog if e.id == model_id)


def test_calibration_point_is_the_measured_speed(catalog: list[CatalogEntry]) -> None:
    small = by_id(catalog, FALLBACK_ID)
    speed = expected_decode_tokens_per_s(small, "int4", report(cores=2))
    # the catalog's 1.5B int4 weights are the 0.95 GiB the calibration build measured, give or take rounding
    assert REFERENCE_TOKENS_PER_S <= speed <= REFERENCE_TOKENS_PER_S * 1.1


def test_core_scaling_has_diminishing_returns_and_stops_at_8() -> None:
    assert cpu_core_scale(2) == pytest.approx(1.0)
    s1, s4, s8, s16 = (cpu_core_scale(n) for n in (1, 4, 8, 16))
    assert s1 < 1.0 < s4 < 2.0 < s8 < 4.0
    assert s16 == s8
    assert s8 / s4 < 2.0  # doubling cores less than doubles speed


def test_speed_scales_inversely_with_weights(catalog: list[CatalogEntry]) -> None:
    hw = report(cores=8, ram_gb=64)
    small, big = by_id(catalog, FALLBACK_ID), by_id(catalog, "deepseek-r1-distill-qwen-7b")
    ratio = expected_decode_tokens_per_s(small, "int4", hw) / expected_decode_tokens_per_s(big, "int4", hw)
    assert ratio == pytest.approx(needs(big, "int4").disk_bytes / needs(small, "int4").disk_bytes)


def test_gpu_estimate_is_faster_than_two_cores(catalog: list[CatalogEntry]) -> None:
    small = by_id(catalog, FALLBACK_ID)
    assert expected_decode_tokens_per_s(small, "int4", report(gpu_gb=8)) > expected_decode_tokens_per_s(
        small, "int4", report())


def test_fit_badges(catalog: list[CatalogEntry]) -> None:
    small, huge = by_id(catalog, FALLBACK_ID), by_id(catalog, "deepseek-r1-distill-qwen-14b")
    assert fit_badge(small, "int4", report(ram_gb=16)) == "fits"
    assert fit_badge(huge, "int4", report(ram_gb=8)) == "won't fit"
    assert fit_badge(huge, "int4", report(ram_gb=14, available_gb=6)) == "slow"  # only after closing other apps
    assert expected_decode_tokens_per_s(huge, "int4", report(ram_gb=8)) == 0.0


def test_fp16_needs_a_cuda_or_directml_gpu(catalog: list[CatalogEntry]) -> None:
    small = by_id(catalog, FALLBACK_ID)
    assert fit_badge(small, "fp16", report(ram_gb=64)) == "won't fit"
    assert fit_badge(small, "fp16", report(gpu_gb=8)) == "fits"
    assert fit_badge(small, "fp16", report(gpu_gb=8, gpu_provider="dml")) == "fits"
    assert fit_badge(small, "fp16", report(gpu_gb=2, ram_gb=32)) == "slow"  # on the GPU box, but not in its memory


def test_auto_provider_prefers_a_working_gpu() -> None:
    assert auto_provider(report()) == "cpu"
    assert auto_provider(report(gpu_gb=8)) == "cuda"
    assert auto_provider(report(gpu_gb=8, gpu_provider="dml")) == "dml"


def test_small_cpu_machine_gets_the_1_5b(catalog: list[CatalogEntry]) -> None:
    rec = recommend(catalog, report(cores=2, ram_gb=8))
    assert rec.entry.id == FALLBACK_ID and rec.precision == "int4" and rec.provider == "cpu"
    assert rec.fit == "fits" and rec.expected_tokens_per_s > COMFORTABLE_TOKENS_PER_S
    assert rec.reason


def test_eight_core_machine_with_room_gets_a_7b_class_distill(catalog: list[CatalogEntry]) -> None:
    rec = recommend(catalog, report(cores=8, ram_gb=32))
    assert rec.entry.reasoning and "distill" in rec.entry.id
    assert 7e9 < rec.entry.params < 9e9  # the 14B would be slow on 8 cores
    assert rec.expected_tokens_per_s >= COMFORTABLE_TOKENS_PER_S


def test_big_gpu_gets_the_largest_distill(catalog: list[CatalogEntry]) -> None:
    rec = recommend(catalog, report(gpu_gb=24, ram_gb=32))
    assert rec.entry.id == "deepseek-r1-distill-qwen-14b" and rec.provider == "cuda" and rec.fit == "fits"


def test_tiny_machine_falls_back_to_the_1_5b_and_says_so(catalog: list[CatalogEntry]) -> None:
    rec = recommend(catalog, report(ram_gb=1.5, available_gb=1))  # the 1.5B int4 needs 1.6 GB
    assert rec.entry.id == FALLBACK_ID and rec.fit == "won't fit" and rec.expected_tokens_per_s == 0.0
    assert "memory" in rec.reason


def test_never_recommends_a_non_reasoning_model(catalog: list[CatalogEntry]) -> None:
    for hw in (report(), report(cores=16, ram_gb=128), report(gpu_gb=80)):
        assert recommend(catalog, hw).entry.reasoning


def test_download_size_uses_the_prebuilt_build_when_there_is_one(catalog: list[CatalogEntry]) -> None:
    small, llama = by_id(catalog, FALLBACK_ID), by_id(catalog, "deepseek-r1-distill-llama-8b")
    assert download_bytes(small, "int4", "cuda") < small.download_bytes  # the official GPU build
    assert download_bytes(small, "int4", "cpu") == small.download_bytes  # the checkpoint, converted here
    assert download_bytes(llama, "int4", "cuda") == llama.download_bytes


def test_empty_catalog_is_an_error() -> None:
    with pytest.raises(CatalogError):
        recommend([], report())


def test_memory_by_context_counts_the_cache_the_conversation_grows_to(catalog: list[CatalogEntry]) -> None:
    """The 14B's float cache: 48 layers x 2 x 8 KV heads x 128 x 4 bytes = 384 KiB a token, so 32k tokens take 12 GiB
    more than none; the int8 cache a quarter of that; fp16 builds (GPU) have no int8 figure."""
    entry = next(e for e in catalog if e.id == "deepseek-r1-distill-qwen-14b")
    rows = memory_by_context(entry, "int4")
    assert [r.context for r in rows] == [8192, 16384, 32768]
    per_token = 48 * 2 * 8 * 128 * 4
    assert rows[2].float_cache_bytes - rows[0].float_cache_bytes == per_token * (32768 - 8192)
    int8 = [r.int8_cache_bytes for r in rows]
    assert all(i is not None for i in int8)
    assert rows[2].int8_cache_bytes - rows[0].int8_cache_bytes == per_token // 4 * (32768 - 8192)  # type: ignore[operator]
    assert all(r.int8_cache_bytes is None for r in memory_by_context(entry, "fp16"))
    short = memory_by_context(entry, "int4", contexts=(8192, 10**7))
    assert [r.context for r in short] == [8192], "contexts past the model's own length are left out"
