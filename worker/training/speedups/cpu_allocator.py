"""Keep freed CPU tensor memory in the process heap instead of handing it back to the kernel.

Why: PyTorch's CPU allocator is plain malloc. glibc serves blocks above its mmap threshold (128 KiB
at first) with fresh `mmap`s and unmaps them on free, so every training step faulted in and zeroed
its activations again as new pages, tens of thousands of minor faults a MiniLM step. Raising the
mmap threshold to glibc's maximum (32 MiB) and the trim threshold to 1 GiB lets the heap reuse
activations step after step (the gain is in docs/BENCHMARKS.md). This is what jemalloc/tcmalloc
preloading does in Intel's CPU training guides, without needing LD_PRELOAD.
Process-wide, idempotent and never undone (it changes where memory comes from, not any result); a
no-op where libc has no `mallopt` (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's upper limit on 64-bit
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


@functools.cache
def keep_freed_memory_in_heap() -> bool:
    """Tune glibc malloc for a training loop; returns whether it took effect."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
