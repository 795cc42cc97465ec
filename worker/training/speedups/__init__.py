"""Speed-ups of training and evaluation, behind one door: `training()` and `inference()`.

What this package is: changes that make the same computation cheaper, mostly on CPUs, where
PyTorch's stock kernels leave time on the table (CUDA's kernels are fused and its allocator caches,
so there only the [CLS]-only last layer applies). `trainer.train_stage` wraps its loop in
`training(model, runtime)` once, `evaluation.predict` wraps its batches in `inference(model,
runtime)` once; each installs what applies, and undoes all of it on exit, normally or by cancel, so
the best-checkpoint load, the STS-intermediate hand-over and later stages see a stock model.

What it is not: none of it changes the model or the method. Logits and gradients are the stock
ones up to floating-point summation order (tests/training/speedups/); the cheap dropout draws its
masks, same Bernoulli distribution, from another generator, so a run with the speed-ups is as
reproducible as one without but not bit-identical to it (with dropout at 0 it is, up to summation
order: tests/training/speedups/test_entry_points.py). A reader who skips this package loses nothing but
speed, and one switch turns all of it off: the run's `train.speedups` and the environment setting
`XLT_SPEEDUPS` (`0`, `false`, `off` or `no`: off); both must allow them. The environment setting
is read here, at each entry, so the ML library needs nothing from the backend's settings.

Where each applies (training, inference; CPU or any device):
- `cls_only_last_layer`: the last encoder layer for position 0 only, what the head reads (both;
  any device);
- `cpu_allocator`: freed memory stays in the heap, glibc `mallopt` (training; CPU, process-wide);
- `cpu_dropout`: dropout masks from a cheaper generator, eager attention with it (training; CPU);
- `autocast_inputs`: the self-attention input cast to bf16 once, not three times (training; CPU
  autocast);
- `embedding_grad`: the word-embedding gradient in one kept buffer (training; CPU);
- `onednn_linear`: fp32 GEMMs on oneDNN where this CPU runs them faster than MKL (both; CPU);
- `gemm_probe`: how fast bf16 and fp32 GEMMs run here (the bf16 advice and results.json).

Measurements behind each choice: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from torch import nn

from worker.training.speedups.autocast_inputs import attention_inputs_cast_once
from worker.training.speedups.cls_only_last_layer import cls_only_last_layer
from worker.training.speedups.cpu_allocator import keep_freed_memory_in_heap
from worker.training.speedups.cpu_dropout import cpu_dropout_installed
from worker.training.speedups.embedding_grad import embedding_grad_kept
from worker.training.speedups.gemm_probe import cpu_bf16_matmul, cpu_bf16_speedup
from worker.training.speedups.onednn_linear import LinearKernels, cpu_fp32_linear_library, linears_on_onednn

if TYPE_CHECKING:
    from worker.training.precision import Runtime

log = logging.getLogger(__name__)
SWITCH = "XLT_SPEEDUPS"
OFF = frozenset({"0", "false", "off", "no"})

__all__ = [
    "SWITCH",
    "cpu_bf16_matmul",
    "cpu_bf16_speedup",
    "enabled",
    "environment",
    "inference",
    "training",
    "with_recorded_kernels",
]


def allowed_by_environment() -> bool:
    """False when `XLT_SPEEDUPS` says off; unset means allowed."""
    return os.environ.get(SWITCH, "1").strip().lower() not in OFF


def enabled(runtime: Runtime) -> bool:
    """Whether the speed-ups apply to a run: its `train.speedups` and the environment both allow."""
    return runtime.speedups and allowed_by_environment()


@contextlib.contextmanager
def training(model: nn.Module, runtime: Runtime) -> Iterator[None]:
    """The speed-ups of one training stage, installed on `model` for the block and undone after it
    (also on an exception). Nothing when switched off; on a GPU only the [CLS]-only last layer."""
    if not enabled(runtime):
        yield
        return
    with contextlib.ExitStack() as stack:
        if runtime.device.type == "cpu":
            keep_freed_memory_in_heap()
            stack.enter_context(cpu_dropout_installed(model))
            stack.enter_context(attention_inputs_cast_once(model))
            stack.enter_context(embedding_grad_kept(model))
            stack.enter_context(linears_on_onednn(model, recorded_kernels(runtime)))
        stack.enter_context(cls_only_last_layer(model))
        yield


@contextlib.contextmanager
def inference(model: nn.Module, runtime: Runtime) -> Iterator[None]:
    """The speed-ups of batched inference (the [CLS]-only last layer; oneDNN fp32 linears on a
    CPU), undone after the block. Inside `training()` it leaves what is installed alone."""
    if not enabled(runtime):
        yield
        return
    with contextlib.ExitStack() as stack:
        if runtime.device.type == "cpu":
            stack.enter_context(linears_on_onednn(model, recorded_kernels(runtime)))
        stack.enter_context(cls_only_last_layer(model))
        yield


def recorded_kernels(runtime: Runtime) -> LinearKernels | None:
    """The fp32 linear kernels an earlier attempt of the run recorded (None: probe this CPU)."""
    return LinearKernels.parse(runtime.cpu_fp32_linear) if runtime.cpu_fp32_linear else None


def with_recorded_kernels(runtime: Runtime, recorded: str | None) -> Runtime:
    """`runtime` set to the fp32 linear kernels an earlier attempt of the run recorded (a
    checkpoint's `cpu_fp32_linear`), where they apply: its resumed steps then sum in the same order
    as its first ones. A record this version cannot read is ignored with a warning."""
    applies = runtime.device.type == "cpu" and runtime.precision == "fp32" and enabled(runtime)
    if not recorded or not applies:
        return runtime
    try:
        LinearKernels.parse(recorded)
    except ValueError:
        log.warning("unknown linear kernel choice %r recorded: this CPU's own is used", recorded)
        return runtime
    return dataclasses.replace(runtime, cpu_fp32_linear=recorded)


def environment(runtime: Runtime) -> dict[str, Any]:
    """What results.json records about the speed-ups and the CPU's GEMMs: whether they were on,
    the fp32 linear library (kernels differ, so do the last digits), and the bf16 unit and rate."""
    on = enabled(runtime)
    env: dict[str, Any] = {"speedups": on, "cpu_bf16_matmul": cpu_bf16_matmul()}
    if runtime.device.type == "cpu" and runtime.precision == "fp32" and on:
        env["cpu_fp32_linear"] = runtime.cpu_fp32_linear or cpu_fp32_linear_library()
    if runtime.device.type == "cpu" and runtime.precision == "bf16":
        env["cpu_bf16_speedup"] = round(cpu_bf16_speedup(), 2)  # bf16/fp32 GEMM rate
    return env
