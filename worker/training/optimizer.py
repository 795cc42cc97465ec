"""The optimiser of a training stage: fused AdamW (BERT's no-decay groups), the linear warm-up/decay
schedule, and the clipped step.

Why a module: clipping is folded into the fused AdamW kernel. `clip_grad_norm_` reads every gradient
for the norm and then reads and writes every gradient again to scale it; fused AdamW can instead
divide each gradient by a `grad_scale` tensor as it reads it (the hook `GradScaler` uses for fp16),
so the scaling pass over all 22.7M MiniLM gradients goes away (about 7 of 40 ms per CPU step for
clip + step, docs/BENCHMARKS.md). The update is the same as clip-then-step up to float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

CLIP_EPS = 1e-6  # as in torch.nn.utils.clip_grad_norm_


def make_optimizer(model: nn.Module, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases and LayerNorm weights (BERT recipe)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.dim() < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # fused: one kernel for all parameters (CPU and CUDA); the per-tensor loop dominated CPU steps
    return torch.optim.AdamW(groups, lr=learning_rate, fused=True)


def clipped_step(
    optimizer: torch.optim.Optimizer,
    params: Sequence[nn.Parameter],
    max_norm: float,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """`clip_grad_norm_(params, max_norm)` followed by `optimizer.step()`, in one pass over the
    gradients when the optimiser is fused. With fp16's `scaler` (which owns `grad_scale` itself) or
    an unfused optimiser it is exactly those two calls, unscaling first."""
    if scaler is not None:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(params, max_norm)
        scaler.step(optimizer)
        scaler.update()
        return
    if not optimizer.defaults.get("fused"):
        nn.utils.clip_grad_norm_(params, max_norm)
        optimizer.step()
        return
    grads = [p.grad for p in params if p.grad is not None]
    total = total_norm(grads)
    # clip_grad_norm_ multiplies by min(1, max_norm / (total + eps)); the kernel divides by its inverse
    optimizer.grad_scale = torch.clamp((total + CLIP_EPS) / max_norm, min=1.0)  # type: ignore[attr-defined]
    try:
        optimizer.step()
    finally:
        del optimizer.grad_scale  # type: ignore[attr-defined]


def total_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The L2 norm of all gradients together, as `clip_grad_norm_` computes it (torch >= 2.6 has it
    as `get_total_norm`; the project allows torch 2.3 on GPU machines)."""
    get_total_norm = getattr(nn.utils, "get_total_norm", None)
    if get_total_norm is not None:
        return get_total_norm(grads)  # type: ignore[no-any-return]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def linear_schedule(step: int, warmup: int, total: int) -> float:
    """LR multiplier: 0→1 over `warmup` steps, then 1→0 at `total`."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    return max(0.0, (total - step) / max(1, total - warmup))
