"""Dropout that is cheap on CPUs: masks from 16-bit slices of 64-bit random words.

Why: on a CPU, `torch.nn.functional.dropout` draws one Mersenne-Twister number per element
(`bernoulli_`) on one thread, SDPA's dropout path is slow, and SDPA's CPU backward is slower still;
for MiniLM the masks were a sizeable part of a step before this (docs/BENCHMARKS.md).
Drawing one 64-bit word per four elements and comparing 16-bit slices against a threshold gives the
same Bernoulli distribution at a quarter of the generator calls (p is rounded to a multiple of 1/65536, an
error below 8e-6). The words come from NumPy's PCG64, several times faster per word than torch's
Mersenne Twister, started at a 128-bit state drawn from the seeded torch generator, so
`torch.manual_seed` still fixes every mask and runs stay reproducible. The masks are not the ones
stock dropout would draw under the same seed, so a run with and without this trains differently
(each reproducibly); with dropout at 0 the two give the same logits and gradients.

`cpu_dropout_installed(model)` swaps every `nn.Dropout` for `CpuDropout` and, where the model uses
transformers' attention interface (BERT, RoBERTa/XLM-R and most current encoders), routes attention
through `cpu_attention`: plain softmax attention with this dropout on the probabilities; both are
undone when the block ends. On CUDA the stock kernels are already fused (Philox RNG), so the
speed-ups install this on CPU only.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask

ATTENTION_NAME = "xlt_cpu_dropout"
_PCG = np.random.PCG64(0)
_PCG_INCREMENT = _PCG.state["state"]["inc"]  # one fixed stream; each mask starts at a fresh state
_PCG_LOCK = threading.Lock()


def random_words(n: int, generator: torch.Generator | None) -> torch.Tensor:
    """`n` uniformly random 64-bit words (int64): PCG64 from a 128-bit state that `generator` (torch's
    seeded MT19937; None: the default one) draws, two torch draws per call instead of 2n."""
    high, low = torch.randint(-(2**63), 2**63 - 1, (2,), dtype=torch.int64, generator=generator).tolist()
    state = ((high % 2**64) << 64) | (low % 2**64)
    with _PCG_LOCK:
        _PCG.state = {
            "bit_generator": "PCG64",
            "state": {"state": state, "inc": _PCG_INCREMENT},
            "has_uint32": 0,
            "uinteger": 0,
        }
        words = _PCG.random_raw(n)
    return torch.from_numpy(words.view(np.int64))


def keep_mask(
    shape: torch.Size, p: float, dtype: torch.dtype, generator: torch.Generator | None
) -> torch.Tensor:
    """A mask of `shape` with 0 where an element is dropped (probability p) and 1/(1-p) elsewhere."""
    n = shape.numel()
    words = random_words((n + 3) // 4, generator)
    threshold = -32768 + round(p * 65536)  # int16 values are uniform on [-32768, 32767]
    keep = words.view(torch.int16)[:n].view(shape) >= threshold
    # cast then scale in place: cheaper than `torch.where(keep, scale, 0)` (docs/BENCHMARKS.md)
    return keep.to(dtype).mul_(1.0 / (1.0 - p))


def cpu_dropout(
    x: torch.Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Drop-in for `F.dropout(x, p, training)` on CPU tensors."""
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    return x * keep_mask(x.shape, p, x.dtype, generator)


class CpuDropout(nn.Dropout):
    """`nn.Dropout` with the cheap mask; same `p`, `train()`/`eval()` behaviour and state dict."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            return super().forward(x)
        return cpu_dropout(x, self.p, self.training)


def cpu_attention(
    module: nn.Module,
    query: torch.Tensor,  # (batch, heads, q_len, head_dim)
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,  # additive (batch, 1, q_len, k_len), from transformers' eager mask
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """transformers' eager attention with `cpu_dropout` on the attention probabilities. In
    evaluation it hands over to SDPA, whose fused CPU kernel is faster for inference; in training
    it never does, even at dropout 0, because SDPA's CPU backward is the slow part."""
    if not module.training:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=0.0, scaling=scaling, **kwargs
        )
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3))  # (batch, heads, q_len, k_len)
    if attention_mask is None:
        scores = scores.mul_(scaling)
    else:  # scale and mask in one pass: mask + scaling * scores
        scores = torch.add(_mask_like(attention_mask, scores), scores, alpha=scaling)
    # under bf16 autocast the scores stay bf16: the softmax kernel computes in fp32 and rounds once
    probs = cpu_dropout(torch.softmax(scores, dim=-1).to(value.dtype), dropout, module.training)
    output = torch.matmul(probs, value).transpose(1, 2).contiguous()
    return output, probs


def _mask_like(mask: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """The additive mask in the scores' dtype (bf16 under autocast), so adding it does not promote
    the (batch, heads, q, k) scores to fp32; fp32's most negative value clamped, not rounded to -inf."""
    if mask.dtype == scores.dtype:
        return mask
    return mask.clamp(min=torch.finfo(scores.dtype).min).to(scores.dtype)


@functools.cache
def _register_attention() -> None:
    """Once per process: the name `set_attn_implementation` accepts, with transformers' additive mask."""
    AttentionInterface.register(ATTENTION_NAME, cpu_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, eager_mask)


@contextlib.contextmanager
def cpu_dropout_installed(model: nn.Module) -> Iterator[bool]:
    """`model` with the cheap CPU dropout (and, when supported, attention) for the block; yields
    whether attention was routed too. The stock modules and attention are back afterwards, also on
    an exception, so evaluation, checkpoints and later stages see the stock model."""
    swapped = _swap_dropouts(model)
    stock_attention = _attention_of(model)
    routed = stock_attention != ATTENTION_NAME and _set_attention(model, ATTENTION_NAME)
    try:
        yield routed
    finally:
        if routed and stock_attention is not None:
            _set_attention(model, stock_attention)
        for parent, name, stock in swapped:
            stock.train(getattr(parent, name).training)
            setattr(parent, name, stock)


def _swap_dropouts(model: nn.Module) -> list[tuple[nn.Module, str, nn.Dropout]]:
    """Replace every stock `nn.Dropout` by a `CpuDropout` of the same p; returns what was replaced."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                replacement = CpuDropout(child.p, child.inplace)
                replacement.train(child.training)
                setattr(parent, name, replacement)
                swapped.append((parent, name, child))
    return swapped


def _attention_of(model: nn.Module) -> str | None:
    config = getattr(model, "config", None)
    return getattr(config, "_attn_implementation", None) if config is not None else None


def _set_attention(model: nn.Module, implementation: str) -> bool:
    """Switch transformers' attention implementation; False where the model cannot."""
    _register_attention()
    set_attention = getattr(model, "set_attn_implementation", None)
    if set_attention is None:
        return False
    try:
        set_attention(implementation)
    except (ValueError, NotImplementedError):
        return False
    return _attention_of(model) == implementation
