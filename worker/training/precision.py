"""Device, precision and seeding: the runtime a stage trains and evaluates under.

Why a module: `auto` resolves the same way everywhere (bf16 autocast on CUDA when the card supports
it, fp32 on CPU), bf16 autocast is also allowed on CPUs, and fp16 is refused on CPU with a message
instead of failing deep inside a kernel. Whether bf16 pays on a CPU cannot be read off its flags,
so asking for bf16 on a CPU measures it (`speedups/gemm_probe.py`) and logs a warning when bf16
is the slower one. The runtime also carries `train.speedups`, the run's half of the speed-ups switch.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from worker.training.config import TrainConfig
from worker.training.speedups.gemm_probe import cpu_bf16_matmul, cpu_bf16_speedup

ResolvedPrecision = Literal["fp32", "bf16", "fp16"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    precision: ResolvedPrecision
    pad_to_multiple_of: int | None = None  # train.pad_to_multiple_of; None: see pad_multiple
    speedups: bool = True  # train.speedups; the environment's XLT_SPEEDUPS must allow them too
    # the fp32 linear library of each GEMM (speedups/onednn_linear.py) as an earlier attempt of this
    # run recorded it; None: this process's probe decides. A resumed run keeps its kernels, and so
    # its summation order, where the probe, near its threshold, could choose otherwise.
    cpu_fp32_linear: str | None = None

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[self.precision]

    @property
    def pad_multiple(self) -> int:
        """Batch widths are rounded up to this. Under bf16/fp16 the matmul kernels (oneDNN's AMX
        kernels on CPUs, tensor cores on GPUs) are specialised per shape, so fewer distinct widths
        means fewer kernel builds (the `pad_to_multiple_of=8` of Hugging Face's fp16 examples); in
        fp32 the extra padding cost more than it saved (docs/BENCHMARKS.md). Padded positions never
        reach the [CLS] output, so only bf16 rounding and the dropout masks' random numbers change;
        whether that moves zero-shot scores is an open question (docs/RESULTS.md), hence the setting."""
        if self.pad_to_multiple_of is not None:
            return self.pad_to_multiple_of
        return 1 if self.autocast_dtype is None else 8

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        dtype = self.autocast_dtype
        if dtype is None:
            yield
            return
        with torch.autocast(device_type=self.device.type, dtype=dtype):
            yield


def resolve_runtime(train: TrainConfig) -> Runtime:
    if train.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device: 'cuda' was asked for but no CUDA device is available")
    use_cuda = train.device == "cuda" or (train.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    precision: ResolvedPrecision
    if train.precision == "auto":
        precision = "bf16" if use_cuda and torch.cuda.is_bf16_supported() else "fp32"
    elif train.precision == "fp16" and not use_cuda:
        raise ValueError("train.precision: fp16 needs a CUDA device; use bf16 or fp32 on CPU")
    else:
        precision = train.precision
    if precision == "bf16" and not use_cuda and (speedup := cpu_bf16_speedup()) < 1.0:
        log.warning(
            "train.precision bf16: on this CPU (bf16 matrix unit: %s) a bf16 matmul ran at %.2fx the "
            "fp32 rate, so fp32 is the faster choice",
            cpu_bf16_matmul(),
            speedup,
            extra={"warning_code": "slow_precision"},
        )
    return Runtime(device, precision, train.pad_to_multiple_of, train.speedups)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
