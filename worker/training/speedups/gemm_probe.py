"""How fast this CPU runs GEMMs: the bf16 unit it has, bf16 against fp32, and the probes' timers.

Why measured and not read off the CPU flags: the same flags (AVX-512-BF16, say) came with bf16
GEMMs slower than fp32 on one machine and several times faster on another, and an AVX2-only CPU
emulates bf16 at a small fraction of its fp32 rate (docs/BENCHMARKS.md, one section per machine).
So asking for bf16 on a CPU times one GEMM in both precisions; `precision.resolve_runtime` warns
when bf16 is the slower one, and results.json records the unit and the ratio. The probes use their
own generator, so the run's seeding is never moved by a measurement.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Literal

import torch


def cpu_bf16_matmul() -> Literal["amx", "avx512_bf16", "none"]:
    """The CPU's bf16 matrix unit: AMX tiles, AVX-512-BF16 dot products, or neither."""
    if torch.cpu._is_amx_tile_supported():
        return "amx"
    return "avx512_bf16" if torch.cpu._is_avx512_bf16_supported() else "none"


@functools.cache
def cpu_bf16_speedup() -> float:
    """bf16 over fp32 GEMM rate on this CPU at a MiniLM feed-forward shape (256 tokens), once per
    process: milliseconds with a bf16 unit, longer where bf16 is emulated."""
    with torch.inference_mode():
        rates = [_gemm_rate(dtype) for dtype in (torch.float32, torch.bfloat16)]
    return rates[1] / rates[0]


def _gemm_rate(dtype: torch.dtype) -> float:
    generator = torch.Generator().manual_seed(0)  # not the global one: seeding must not move
    a = torch.randn(256, 384, generator=generator).to(dtype)  # (tokens, hidden)
    b = torch.randn(384, 1536, generator=generator).to(dtype)
    return calls_per_second(lambda: a @ b, min_seconds=0.02)


def calls_per_second(call: Callable[[], object], min_seconds: float = 0.03) -> float:
    """How often `call` runs per second, after one warm-up call (oneDNN builds its kernel for the
    shape on the first)."""
    call()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls == 0:
        call()
        calls += 1
    return calls / elapsed


def best_seconds(call: Callable[[], object], repeats: int = 3) -> float:
    """The shortest of `repeats` timings of `call`: noise on a shared machine only adds time."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return min(timings)
