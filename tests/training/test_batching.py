"""Length-grouped batches: a permutation of the data, similar lengths together, seeded; padding."""

from __future__ import annotations

import random

import torch

from worker.training.batching import Encoded, collate, length_grouped_batches, sorted_batches


def _lengths() -> list[int]:
    rng = random.Random(0)
    return [rng.randint(5, 120) for _ in range(1000)]


def test_length_grouped_batches_cover_every_example_once() -> None:
    batches = length_grouped_batches(_lengths(), 32, random.Random(1))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))
    assert all(len(b) <= 32 for b in batches)


def test_length_grouped_batches_pad_far_less_than_random_batches() -> None:
    lengths = _lengths()

    def padded(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    order = list(range(1000))
    random.Random(1).shuffle(order)
    random_batches = [order[i : i + 32] for i in range(0, 1000, 32)]
    assert padded(length_grouped_batches(lengths, 32, random.Random(1))) < 0.7 * padded(random_batches)


def test_length_grouped_batches_are_seeded_and_shuffled() -> None:
    lengths = _lengths()
    a = length_grouped_batches(lengths, 32, random.Random(5))
    assert a == length_grouped_batches(lengths, 32, random.Random(5))
    assert a != length_grouped_batches(lengths, 32, random.Random(6))
    firsts = [max(lengths[i] for i in b) for b in a]
    assert firsts != sorted(firsts, reverse=True)  # batch order is shuffled, not longest first


def test_sorted_batches_run_longest_first() -> None:
    lengths = [3, 9, 1, 7]
    assert sorted_batches(lengths, 2) == [[1, 3], [0, 2]]


def test_collate_pads_to_the_longest_row_rounded_up_to_the_multiple() -> None:
    data = Encoded([[101, 7, 102], [101, 7, 8, 9, 102]], [[0, 0, 0], [0, 0, 1, 1, 1]], [0.0, 2.0])
    exact = collate(data, [0, 1], 0, False, torch.device("cpu"))
    rounded = collate(data, [0, 1], 0, False, torch.device("cpu"), pad_multiple=8)
    assert exact["input_ids"].shape == (2, 5)
    assert rounded["input_ids"].shape == (2, 8)
    assert rounded["attention_mask"].sum(dim=1).tolist() == [3, 5]  # padding is masked, not attended
    assert rounded["token_type_ids"][1].tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    assert torch.equal(rounded["input_ids"][:, :5], exact["input_ids"])
    assert rounded["labels"].tolist() == [0, 2]
