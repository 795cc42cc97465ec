"""Per-example correctness of one run on one evaluation set, stored compactly as a bitset.

Why: a study compares methods on the *same test items* (paired bootstrap, McNemar), which needs to
know which items each run got right, not only its accuracy. Evaluation writes one record per
dataset × language into results.json and the backend reads it back, so this is a pure contract
module like `results` (numpy and pydantic, no torch).

Encoding: bit i is 1 when the model's prediction for item i is correct; items are in the order of
the evaluation file (`<split>.<lang>.jsonl`, line order), which is the order `predict` returns.
The bits are `numpy.packbits(..., bitorder="big")` in base64, with the item count kept beside them
because the last byte is padded with zero bits. 5,010 XNLI test items take 836 characters.
`items_digest` fingerprints the ordered item ids, so two runs scored on different subsets (another
`max_examples`, another data version) are refused instead of being paired item by item.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, Field


class CorrectnessBits(BaseModel):
    """Which of `n` items a run got right: base64 of the big-endian packed bits."""

    n: int = Field(ge=0)
    bits: str
    items_digest: str | None = None  # sha256 of the ordered item ids, when known


class ItemCorrectness(BaseModel):
    """One evaluation set's correctness record, as results.json carries it."""

    dataset: str
    language: str
    split: str = "test"
    correct: CorrectnessBits


def items_digest(item_ids: Sequence[str]) -> str:
    """A fingerprint of the ordered item ids (sha256 over the ids joined by newlines), so records
    that cover different items cannot be paired by index by mistake."""
    return hashlib.sha256("\n".join(item_ids).encode("utf-8")).hexdigest()


def encode_correctness(correct: ArrayLike, item_ids: Sequence[str] | None = None) -> CorrectnessBits:
    """Pack a 1-d boolean array (True = the run got item i right) into a `CorrectnessBits`."""
    array = np.asarray(correct)
    if array.ndim != 1:
        raise ValueError(f"correctness must be one-dimensional, got shape {array.shape}")
    if array.size and array.dtype != np.bool_:
        if not np.isin(array, (0, 1)).all():
            raise ValueError("correctness values must be booleans or 0/1")
        array = array.astype(np.bool_)
    if item_ids is not None and len(item_ids) != array.size:
        raise ValueError(f"{len(item_ids)} item ids for {array.size} correctness values")
    packed = np.packbits(array.astype(np.uint8), bitorder="big")
    return CorrectnessBits(
        n=int(array.size),
        bits=base64.b64encode(packed.tobytes()).decode("ascii"),
        items_digest=items_digest(item_ids) if item_ids is not None else None,
    )


def decode_correctness(encoded: CorrectnessBits) -> NDArray[np.bool_]:
    """The boolean array of length `encoded.n` back; a corrupt record raises ValueError rather
    than silently shifting items (wrong byte count, non-zero padding bits, bad base64)."""
    try:
        raw = base64.b64decode(encoded.bits, validate=True)
    except binascii.Error as error:
        raise ValueError(f"correctness bits are not valid base64: {error}") from error
    expected = (encoded.n + 7) // 8
    if len(raw) != expected:
        raise ValueError(f"correctness of {encoded.n} items needs {expected} bytes, got {len(raw)}")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="big")
    if bits[encoded.n :].any():
        raise ValueError("correctness padding bits are not zero: record is corrupt")
    return bits[: encoded.n].astype(np.bool_)
