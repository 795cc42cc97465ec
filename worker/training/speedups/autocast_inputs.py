"""Under CPU autocast, cast a self-attention block's input to bf16 once instead of three times.

Why: BERT-style self-attention feeds the same fp32 hidden states (a LayerNorm output) to its
`query`, `key` and `value` projections, and autocast casts that tensor to bf16 for each of them;
in the backward pass the three bf16 input gradients are each cast back to fp32 before they are
summed. One cast in a forward pre-hook removes two casts forward and two backward per layer. The
gradient reaching the hidden states is the same to bf16 rounding (against fp32, MiniLM's gradients
differ from fp32 by as much with the hook as without it: docs/BENCHMARKS.md). fp32 training is
untouched: the hook only acts while CPU autocast is on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

PROJECTIONS = ("query", "key", "value")


def _cast_once(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    if not args or not torch.is_autocast_enabled("cpu"):
        return None
    hidden = args[0]
    dtype = torch.get_autocast_dtype("cpu")
    if not isinstance(hidden, torch.Tensor) or hidden.dtype != torch.float32 or hidden.device.type != "cpu":
        return None
    return (hidden.to(dtype), *args[1:])


def cast_attention_inputs_once(model: nn.Module) -> list[RemovableHandle]:
    """Hook every module with `nn.Linear` children `query`, `key` and `value` (BERT, RoBERTa,
    XLM-R, ELECTRA self-attention); returns the hooks' handles, to remove when the stage ends."""
    return [
        module.register_forward_pre_hook(_cast_once)
        for module in model.modules()
        if all(isinstance(getattr(module, name, None), nn.Linear) for name in PROJECTIONS)
    ]


@contextlib.contextmanager
def attention_inputs_cast_once(model: nn.Module) -> Iterator[int]:
    """The one-cast hooks on `model` for the block (yields how many); removed afterwards."""
    handles = cast_attention_inputs_once(model)
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()
