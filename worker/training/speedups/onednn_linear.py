"""fp32 linear layers through oneDNN instead of MKL, GEMM by GEMM, on CPUs where MKL is the slower.

Why: PyTorch's CPU build sends fp32 `linear` and `matmul` to MKL, and MKL picks its kernels by CPU
vendor, while oneDNN, which PyTorch also ships, picks them by instruction set. On some AMD EPYCs
oneDNN ran MiniLM's GEMMs at about twice MKL's rate; on others only its forward and input gradient
were faster and its weight gradient (which reads a transposed input) slower; on the lab's Xeons the
two are level (docs/BENCHMARKS.md). So each of the three GEMMs of a training linear is timed in both
libraries once per process, and goes to oneDNN only where oneDNN is at least `MIN_SPEEDUP` faster
(`LinearKernels`). The results are fp32 GEMMs like MKL's, summed in a different order
(tests/training/speedups/test_onednn_linear.py compares them, also against float64).
Only fp32 CPU tensors outside autocast take this path; everything else keeps the stock forward.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from worker.training.speedups.gemm_probe import best_seconds

Library = Literal["onednn", "mkl"]
MIN_SPEEDUP = 1.1  # below this the switch is not worth a different summation order
PROBE_ROUNDS = 3  # MKL and oneDNN timed in turn, so a slow spell of the machine hits both


@dataclass(frozen=True)
class LinearKernels:
    """The library of each GEMM of a linear layer: y = x W^T, dx = dy W, dW = dy^T x."""

    forward: Library = "onednn"
    input_grad: Library = "onednn"
    weight_grad: Library = "onednn"

    @property
    def uses_onednn(self) -> bool:
        return "onednn" in (self.forward, self.input_grad, self.weight_grad)

    def __str__(self) -> str:
        """`mkl` or `onednn` when all three agree, else each GEMM named (results.json records it)."""
        if self.forward == self.input_grad == self.weight_grad:
            return self.forward
        return f"forward={self.forward},input_grad={self.input_grad},weight_grad={self.weight_grad}"

    @classmethod
    def parse(cls, text: str) -> LinearKernels:
        """The inverse of `str()`: a recorded choice (a checkpoint's) back; ValueError if malformed."""
        parts = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        if text in ("onednn", "mkl"):
            parts = dict.fromkeys(("forward", "input_grad", "weight_grad"), text)
        if set(parts) != {"forward", "input_grad", "weight_grad"}:
            raise ValueError(f"not a linear kernel choice: {text!r}")
        return cls(_library(parts["forward"]), _library(parts["input_grad"]), _library(parts["weight_grad"]))


def _library(name: str) -> Library:
    if name == "onednn":
        return "onednn"
    if name == "mkl":
        return "mkl"
    raise ValueError(f"not a linear library: {name!r}")


ALL_ONEDNN = LinearKernels()


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x @ weight.T + bias by oneDNN; weight may be a strided view (a transpose costs no copy)."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class _OneDnnLinear(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, kernels: LinearKernels
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        ctx.kernels = kernels
        if kernels.forward == "onednn":
            return _onednn(x, weight, bias)
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        kernels: LinearKernels = ctx.kernels
        grad_2d = grad.reshape(-1, grad.shape[-1])  # (tokens, out)
        x_2d = x.reshape(-1, x.shape[-1])  # (tokens, in)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            if kernels.input_grad == "onednn":
                grad_x = _onednn(grad_2d, weight.t(), None).view(x.shape)
            else:
                grad_x = grad_2d.mm(weight).view(x.shape)
        if ctx.needs_input_grad[1]:
            if kernels.weight_grad == "onednn":
                grad_weight = _onednn(grad_2d.t(), x_2d.t(), None)
            else:
                grad_weight = grad_2d.t().mm(x_2d)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad_2d.sum(0)
        return grad_x, grad_weight, grad_bias, None


def onednn_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, kernels: LinearKernels = ALL_ONEDNN
) -> torch.Tensor:
    """`F.linear` with the GEMMs of forward and backward in the libraries `kernels` names; other
    dtypes, devices and autocast fall back to `F.linear`."""
    if (
        x.device.type != "cpu"
        or x.dtype != torch.float32
        or weight.dtype != torch.float32
        or torch.is_autocast_enabled("cpu")
    ):
        return F.linear(x, weight, bias)
    return _OneDnnLinear.apply(x, weight, bias, kernels)


@contextlib.contextmanager
def linears_on_onednn(model: nn.Module, kernels: LinearKernels | None = None) -> Iterator[bool]:
    """Route the GEMMs of every `nn.Linear` of `model` to the libraries `kernels` names (default:
    this CPU's choice, `cpu_fp32_linear_kernels()`) for the block; yields whether any went to
    oneDNN. The forward is replaced on each instance (the state dict and parameter names stay) and
    restored on exit, also on an exception; linears already routed are left to the outer block."""
    kernels = kernels if kernels is not None else cpu_fp32_linear_kernels()
    linears = [m for m in model.modules() if type(m) is nn.Linear and "forward" not in vars(m)]
    if not kernels.uses_onednn or not linears:
        yield False
        return
    for linear in linears:
        linear.forward = _forward_of(linear, kernels)  # type: ignore[method-assign,assignment]
    try:
        yield True
    finally:
        for linear in linears:
            del linear.forward


def _forward_of(linear: nn.Linear, kernels: LinearKernels) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return onednn_linear(x, linear.weight, linear.bias, kernels)

    return forward


def cpu_fp32_linear_library() -> str:
    """Which library runs each GEMM of fp32 linear layers on this CPU under `linears_on_onednn`."""
    return str(cpu_fp32_linear_kernels())


def cpu_fp32_linear_kernels() -> LinearKernels:
    """oneDNN for each GEMM it runs at least `MIN_SPEEDUP` times MKL's speed on this CPU, else MKL."""
    speedups = onednn_fp32_speedups()

    def pick(gemm: str) -> Library:
        return "onednn" if speedups[gemm] >= MIN_SPEEDUP else "mkl"

    return LinearKernels(pick("forward"), pick("input_grad"), pick("weight_grad"))


@functools.cache
def onednn_fp32_speedups() -> dict[str, float]:
    """MKL over oneDNN time for each GEMM of a training linear (forward, input gradient, weight
    gradient) at a MiniLM feed-forward shape (a 32 x 40 batch), once per process.

    Why each GEMM, and the best of alternating rounds: one library can be faster for the forward
    and slower for the weight gradient on the same CPU, and a single short timing can catch MKL
    still warming up; a forward-only probe once sent all three GEMMs to oneDNN and made epochs
    slower (docs/BENCHMARKS.md, 2026-12-03 morning)."""
    generator = torch.Generator().manual_seed(0)  # not the global one: seeding must not move
    x = torch.randn(32 * 40, 384, generator=generator)  # (batch * tokens, hidden)
    weight = torch.randn(1536, 384, generator=generator)
    grad = torch.randn(32 * 40, 1536, generator=generator)
    gemms: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {  # (MKL, oneDNN)
        "forward": (lambda: F.linear(x, weight), lambda: _onednn(x, weight, None)),
        "input_grad": (lambda: grad.mm(weight), lambda: _onednn(grad, weight.t(), None)),
        "weight_grad": (lambda: grad.t().mm(x), lambda: _onednn(grad.t(), x.t(), None)),
    }
    speedups = {}
    with torch.inference_mode():
        for name, (mkl, onednn) in gemms.items():
            mkl()
            onednn()  # warm-up: oneDNN builds its kernel for the shape
            rounds = [(best_seconds(mkl), best_seconds(onednn)) for _ in range(PROBE_ROUNDS)]
            speedups[name] = min(m for m, _ in rounds) / min(o for _, o in rounds)
    return speedups
