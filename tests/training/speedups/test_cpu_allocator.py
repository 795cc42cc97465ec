"""The allocator setting: glibc keeps freed memory in the heap, once per process."""

from __future__ import annotations

import platform

import pytest

from worker.training.speedups.cpu_allocator import keep_freed_memory_in_heap


def test_allocator_tuning_takes_effect_on_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt tuning is glibc-only")
    assert keep_freed_memory_in_heap()
