"""The CPU speed-ups of a training stage, installed together and undone together.

Why one place: the trainer needs five CPU-only changes to the process and the model
(docs/BENCHMARKS.md): freed memory kept in the heap, the cheap dropout and attention path, the
one-cast hook on self-attention inputs under autocast, the kept word-embedding gradient, and fp32
linear layers on oneDNN where MKL is slower (AMD CPUs). The last three must be undone when the stage
ends, normally or by cancel, so that the best-checkpoint load, the STS-intermediate hand-over and
later stages see a stock model. CUDA needs none of them: its kernels are fused and its allocator
caches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from worker.training.autocast_inputs import cast_attention_inputs_once
from worker.training.cpu_allocator import keep_freed_memory_in_heap
from worker.training.cpu_dropout import install_cpu_dropout
from worker.training.embedding_grad import keep_embedding_grad
from worker.training.onednn_linear import linears_on_onednn


@contextlib.contextmanager
def cpu_training(model: nn.Module, device: torch.device) -> Iterator[Callable[[], None]]:
    """Install the CPU speed-ups on `model` for one stage (on any other device: nothing). Yields
    what to call after every `optimizer.zero_grad(set_to_none=True)`: it hands the kept
    embedding gradient back."""
    if device.type != "cpu":
        yield _nothing
        return
    keep_freed_memory_in_heap()
    install_cpu_dropout(model)  # permanent: the same outputs as stock in eval, reproducible in training
    hooks = cast_attention_inputs_once(model)
    kept_grad = keep_embedding_grad(model)
    try:
        with linears_on_onednn(model):
            yield kept_grad.zero_grad if kept_grad is not None else _nothing
    finally:
        if kept_grad is not None:
            kept_grad.remove()
        for hook in hooks:
            hook.remove()


def _nothing() -> None:
    return None
