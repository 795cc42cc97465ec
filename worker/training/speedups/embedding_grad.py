"""The word-embedding gradient in one dense buffer kept across steps (CPU training).

Why: a stock embedding's backward allocates a fresh dense zero tensor of the whole vocabulary for
every step (vocabulary × hidden floats: tens of MB for MiniLM, hundreds for XLM-R base), although
one batch touches at most batch × length rows. Above glibc's largest mmap threshold (32 MiB) that
tensor is mmapped, page-faulted in and zeroed every step and unmapped again at `zero_grad`
(docs/BENCHMARKS.md). Here the embedding returns a sparse gradient, autograd adds it into a dense
buffer that stays the weight's `.grad`, and only the rows that earlier forward passes read are
zeroed again. The optimiser, clipping and the checkpoint see an ordinary dense gradient with the
same values; the buffer is allocated once.

The training loop does not know: `optimizer.zero_grad(set_to_none=True)` (torch's default) sets the
gradient to None as usual, and the next forward that records a gradient zeroes the rows written
since and hands the buffer back as `.grad` (a forward pre-hook on the embedding).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

MAX_ROW_TENSORS = 256  # rows kept as one de-duplicated tensor beyond this (zero_grad without set_to_none)


class KeptEmbeddingGrad:
    """Keeps `embedding.weight.grad` as one dense buffer until `remove()`."""

    def __init__(self, embedding: nn.Embedding) -> None:
        self.embedding = embedding
        self.buffer = torch.zeros_like(embedding.weight)
        self.rows: list[torch.Tensor] = []  # input ids read since the last reset (with repeats)
        embedding.sparse = True
        self.handle: RemovableHandle = embedding.register_forward_pre_hook(self._before_forward)
        embedding.weight.grad = self.buffer

    def _before_forward(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if not torch.is_grad_enabled():  # only a forward with autograd on can write gradient rows
            return
        if self.embedding.weight.grad is None:  # zero_grad(set_to_none=True) ran since the last one
            self._hand_back()
        self.rows.append(args[0].detach().reshape(-1))
        if len(self.rows) > MAX_ROW_TENSORS:
            self.rows = [torch.cat(self.rows).unique()]

    def _hand_back(self) -> None:
        """Zero the rows written since the last reset and hand the buffer back as `.grad`."""
        if self.rows:
            self.buffer.index_fill_(0, torch.cat(self.rows), 0.0)
            self.rows.clear()
        self.embedding.weight.grad = self.buffer

    def remove(self) -> None:
        """Back to a stock embedding with no gradient held."""
        self.handle.remove()
        self.embedding.sparse = False
        self.embedding.weight.grad = None


@contextlib.contextmanager
def embedding_grad_kept(model: nn.Module) -> Iterator[KeptEmbeddingGrad | None]:
    """`model`'s word-embedding gradient kept in one buffer for the block (where that applies,
    see `keep_embedding_grad`); a stock embedding with no gradient held afterwards."""
    kept = keep_embedding_grad(model)
    try:
        yield kept
    finally:
        if kept is not None:
            kept.remove()


def keep_embedding_grad(model: nn.Module) -> KeptEmbeddingGrad | None:
    """A `KeptEmbeddingGrad` on `model`'s input word embedding, or None where it does not apply:
    no plain trainable `nn.Embedding`, an embedding that renormalises (`max_norm`) or is already
    sparse, or a weight shared with an output layer (its gradient would not be sparse)."""
    get_input = getattr(model, "get_input_embeddings", None)
    embedding = get_input() if get_input is not None else None
    if type(embedding) is not nn.Embedding or embedding.max_norm is not None or embedding.sparse:
        return None
    if not embedding.weight.requires_grad or embedding.weight.grad is not None:
        return None
    get_output = getattr(model, "get_output_embeddings", None)
    output = get_output() if get_output is not None else None
    if output is not None and getattr(output, "weight", None) is embedding.weight:
        return None
    return KeptEmbeddingGrad(embedding)
