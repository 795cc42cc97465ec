"""The GEMM probe: a positive bf16/fp32 rate, measured without moving the run's seeding."""

from __future__ import annotations

import torch

from worker.training.speedups.gemm_probe import (
    best_seconds,
    calls_per_second,
    cpu_bf16_matmul,
    cpu_bf16_speedup,
)


def test_cpu_bf16_speedup_is_measured_without_touching_the_global_seed() -> None:
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    cpu_bf16_speedup.cache_clear()
    assert cpu_bf16_speedup() > 0
    assert torch.equal(torch.rand(3), expected)
    assert cpu_bf16_matmul() in ("amx", "avx512_bf16", "none")


def test_the_timers_count_calls_and_keep_the_shortest_timing() -> None:
    calls: list[int] = []
    rate = calls_per_second(lambda: calls.append(1), min_seconds=0.01)
    assert rate > 0 and len(calls) >= 2  # the warm-up call and at least one timed
    assert 0 <= best_seconds(lambda: None) < 0.01
