"""fp32 linear layers through oneDNN instead of MKL, on CPUs where MKL is the slower of the two.

Why: PyTorch's CPU build sends fp32 `linear` and `matmul` to MKL, and MKL picks its kernels by CPU
vendor. On an AMD EPYC with AVX-512 (2026-12-02) it ran MiniLM's GEMMs at 190–220 GFLOP/s, while
oneDNN, which PyTorch also ships and which picks kernels by instruction set, ran the same GEMMs at
460–490 (forward and input gradient) and 310–350 (weight gradient). On the lab's Xeons the two are
level, and on a Zen 4 EPYC (2026-12-03) oneDNN's faster forward was undone by a slower weight
gradient, so `linears_on_onednn` times a whole training linear (forward and both gradients) in both
libraries once per process and only switches where oneDNN is at least `MIN_SPEEDUP` faster. Forward,
input and weight gradients all go through oneDNN; the results are fp32 GEMMs like MKL's, summed in
a different order (tests/training/test_onednn_linear.py compares them).
Only fp32 CPU tensors outside autocast take this path; everything else keeps the stock forward.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

MIN_SPEEDUP = 1.2  # below this the switch is not worth a different summation order
PROBE_ROUNDS = 3  # MKL and oneDNN timed in turn, so a slow spell of the machine hits both


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x @ weight.T + bias by oneDNN; weight may be a strided view (a transpose costs no copy)."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class _OneDnnLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return _onednn(x, weight, bias)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = _onednn(grad_2d, weight.t(), None).view(x.shape)
        if ctx.needs_input_grad[1]:
            grad_weight = _onednn(grad_2d.t(), x.reshape(-1, x.shape[-1]).t(), None)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad_2d.sum(0)
        return grad_x, grad_weight, grad_bias


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`F.linear` with oneDNN GEMMs in forward and backward; other dtypes, devices and autocast
    fall back to `F.linear`."""
    if (
        x.device.type != "cpu"
        or x.dtype != torch.float32
        or weight.dtype != torch.float32
        or torch.is_autocast_enabled("cpu")
    ):
        return F.linear(x, weight, bias)
    return _OneDnnLinear.apply(x, weight, bias)


@contextlib.contextmanager
def linears_on_onednn(model: nn.Module, enabled: bool | None = None) -> Iterator[bool]:
    """Route every `nn.Linear` of `model` through oneDNN for the block; yields whether it did.
    `enabled=None` decides by `onednn_fp32_speedup()`. The forward is replaced on each instance
    (the state dict and parameter names stay) and restored on exit, also on an exception."""
    if enabled is None:
        enabled = cpu_fp32_linear_library() == "onednn"
    linears = [m for m in model.modules() if type(m) is nn.Linear and "forward" not in vars(m)]
    if not enabled or not linears:
        yield False
        return
    for linear in linears:
        linear.forward = _forward_of(linear)  # type: ignore[method-assign,assignment]
    try:
        yield True
    finally:
        for linear in linears:
            del linear.forward


def _forward_of(linear: nn.Linear) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return onednn_linear(x, linear.weight, linear.bias)

    return forward


def cpu_fp32_linear_library() -> Literal["onednn", "mkl"]:
    """Which library runs fp32 linear layers on this CPU under `linears_on_onednn`."""
    return "onednn" if onednn_fp32_speedup() >= MIN_SPEEDUP else "mkl"


@functools.cache
def onednn_fp32_speedup() -> float:
    """MKL over oneDNN time for the three GEMMs of one training linear (forward, input gradient,
    weight gradient) at a MiniLM feed-forward shape (a 32 x 40 batch); about 0.6 s, once per process.

    Why all three, and the best of alternating rounds: on an AMD EPYC (Zen 4, 2026-12-03) oneDNN's
    forward alone timed 1.3-1.6x MKL's in short probes, but its weight gradient (a transposed input)
    was slower and the three together were level (0.98-1.13x); switching on the forward-only probe
    made training epochs 3-8 % slower. Short single timings also caught MKL still warming up."""
    generator = torch.Generator().manual_seed(0)  # not the global one: seeding must not move
    x = torch.randn(32 * 40, 384, generator=generator)  # (batch * tokens, hidden)
    weight = torch.randn(1536, 384, generator=generator)
    grad = torch.randn(32 * 40, 1536, generator=generator)

    def mkl() -> None:
        F.linear(x, weight), grad.mm(weight), grad.t().mm(x)

    def onednn() -> None:
        _onednn(x, weight, None), _onednn(grad, weight.t(), None), _onednn(grad.t(), x.t(), None)

    with torch.inference_mode():
        mkl()
        onednn()  # warm-up: oneDNN builds its kernels for the shapes
        rounds = [(_best_seconds(mkl), _best_seconds(onednn)) for _ in range(PROBE_ROUNDS)]
    return min(m for m, _ in rounds) / min(o for _, o in rounds)


def _best_seconds(call: Callable[[], object], repeats: int = 3) -> float:
    """The shortest of `repeats` timings of `call`: noise on a shared machine only adds time."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return min(timings)


def calls_per_second(call: Callable[[], object], min_seconds: float = 0.03) -> float:
    """How often `call` runs per second, after one warm-up call; the speed probes' timer."""
    call()  # warm-up: oneDNN builds its kernel for the shape
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls == 0:
        call()
        calls += 1
    return calls / elapsed
