"""Machine state next to every benchmark figure: on 2 cores any other load halves a torch job, so each
figure carries how much CPU other processes used while it was measured, and how much the hypervisor
stole (on a shared VM a busy neighbour shows up there, not as a process)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil


@dataclass
class CpuWindow:
    wall_s: float = 0.0
    own_cpu_pct: float = 0.0  # of all cores
    other_cpu_pct: float = 0.0  # of all cores, everything but this process
    steal_pct: float = 0.0  # of all cores, time the hypervisor gave this VM's cores to other guests


@contextmanager
def cpu_window() -> Iterator[CpuWindow]:
    """Measure wall time and the CPU share of this process versus every other process."""
    me = psutil.Process(os.getpid())
    cores = psutil.cpu_count() or 1
    total0 = psutil.cpu_times()
    own0 = me.cpu_times()
    t0 = time.perf_counter()
    window = CpuWindow()
    yield window
    window.wall_s = time.perf_counter() - t0
    total1 = psutil.cpu_times()
    own1 = me.cpu_times()
    busy = (total1.user + total1.system + total1.nice) - (total0.user + total0.system + total0.nice)
    own = (own1.user + own1.system + own1.children_user + own1.children_system) - (
        own0.user + own0.system + own0.children_user + own0.children_system
    )
    capacity = window.wall_s * cores
    window.own_cpu_pct = 100 * own / capacity
    window.other_cpu_pct = max(0.0, 100 * (busy - own) / capacity)
    window.steal_pct = 100 * (getattr(total1, "steal", 0.0) - getattr(total0, "steal", 0.0)) / capacity
