"""Tokenization and batching: dynamic padding with length-grouped batches.

Why: on a CPU (and on a GPU) the cost of a batch is set by its longest sequence. XNLI pairs average
~40 tokens, so padding every batch to 128 wastes two thirds of the compute. Training batches are
drawn from shuffled "mega-batches" that are sorted by length inside (as HF's group_by_length), then
the batch order is shuffled; evaluation simply runs in length-sorted order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch

from worker.training.data import PairExample

# Mega-batch size in batches: larger = less padding, smaller = more randomness in batch composition.
MEGABATCH_BATCHES = 50


@dataclass
class Encoded:
    """Token ids of a list of sentence pairs (unpadded) and their targets."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    targets: list[float]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def encode_pairs(tokenizer: Any, examples: list[PairExample], max_len: int) -> Encoded:
    """Tokenize pairs with truncation to `max_len`; no padding (batches pad themselves)."""
    if not examples:
        return Encoded([], None, [])
    enc = tokenizer(
        [e.sentence1 for e in examples],
        [e.sentence2 for e in examples],
        truncation=True,
        max_length=max_len,
        padding=False,
    )
    token_types = enc.get("token_type_ids")
    return Encoded(
        list(enc["input_ids"]),
        list(token_types) if token_types is not None else None,
        [e.target for e in examples],
    )


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length indices (every index exactly once)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * MEGABATCH_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        group = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(group[b : b + batch_size] for b in range(0, len(group), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Batches in descending length order (for inference; stable so results are deterministic)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[b : b + batch_size] for b in range(0, len(order), batch_size)]


def collate(
    data: Encoded,
    indices: list[int],
    pad_id: int,
    regression: bool,
    device: torch.device,
    pad_multiple: int = 1,
) -> dict[str, torch.Tensor]:
    """Pad the selected rows to their longest length, rounded up to `pad_multiple`
    → input_ids/attention_mask[/token_type_ids]/labels."""
    longest = max(len(data.input_ids[i]) for i in indices)
    width = -(-longest // pad_multiple) * pad_multiple
    rows = [data.input_ids[i] for i in indices]
    # one tensor construction per field (per-row slice assignment costs a copy kernel each)
    input_ids = torch.tensor(
        [r + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long
    )  # (batch, seq)
    attention_mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long)
    token_types = None
    if data.token_type_ids is not None:
        types = [data.token_type_ids[i] for i in indices]
        token_types = torch.tensor([t + [0] * (width - len(t)) for t in types], dtype=torch.long)
    targets = [data.targets[i] for i in indices]
    labels = torch.tensor(targets, dtype=torch.float32 if regression else torch.long)
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
    if token_types is not None:
        batch["token_type_ids"] = token_types
    non_blocking = device.type == "cuda"
    return {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()}
