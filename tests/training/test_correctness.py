"""The correctness bitset: exact round trips at awkward lengths, compactness, and loud failures."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from worker.training.correctness import (
    CorrectnessBits,
    ItemCorrectness,
    decode_correctness,
    encode_correctness,
    items_digest,
)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 17, 498, 5010])
def test_round_trip_keeps_every_bit_at_odd_and_even_lengths(n: int) -> None:
    correct = np.random.default_rng(n).random(n) < 0.6
    encoded = encode_correctness(correct)
    assert encoded.n == n
    decoded = decode_correctness(encoded)
    assert decoded.dtype == np.bool_
    np.testing.assert_array_equal(decoded, correct)


def test_empty_correctness_encodes_to_empty_bits() -> None:
    encoded = encode_correctness([])
    assert encoded == CorrectnessBits(n=0, bits="")
    assert decode_correctness(encoded).shape == (0,)


def test_first_item_is_the_most_significant_bit() -> None:
    encoded = encode_correctness([True, False, False, False, False, False, False, False, True])
    assert base64.b64decode(encoded.bits) == bytes([0b10000000, 0b10000000])


def test_integer_zero_one_arrays_are_accepted() -> None:
    np.testing.assert_array_equal(decode_correctness(encode_correctness([1, 0, 1])), [True, False, True])


def test_xnli_test_set_fits_in_under_a_kilobyte_of_text() -> None:
    encoded = encode_correctness(np.ones(5010, dtype=bool))
    assert len(encoded.bits) == 836


def test_record_survives_json_as_results_json_carries_it() -> None:
    correct = np.random.default_rng(0).random(101) < 0.5
    record = ItemCorrectness(dataset="xnli", language="sw", correct=encode_correctness(correct, ["a"] * 101))
    again = ItemCorrectness.model_validate_json(record.model_dump_json())
    np.testing.assert_array_equal(decode_correctness(again.correct), correct)
    assert again.correct.items_digest == items_digest(["a"] * 101)


def test_items_digest_depends_on_ids_and_their_order() -> None:
    assert items_digest(["1", "2"]) != items_digest(["2", "1"])
    assert items_digest(["1", "2"]) == items_digest(["1", "2"])


@pytest.mark.parametrize("bad", [[0, 2, 1], [0.5, 1.0]])
def test_values_other_than_booleans_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="booleans"):
        encode_correctness(bad)


def test_two_dimensional_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        encode_correctness(np.zeros((2, 3), dtype=bool))


def test_item_ids_of_another_length_are_refused() -> None:
    with pytest.raises(ValueError, match="2 item ids for 3"):
        encode_correctness([True, False, True], ["a", "b"])


def test_wrong_byte_count_is_refused_rather_than_shifting_items() -> None:
    encoded = encode_correctness([True] * 9)
    with pytest.raises(ValueError, match="needs 3 bytes, got 2"):
        decode_correctness(encoded.model_copy(update={"n": 17}))


def test_non_zero_padding_bits_are_refused() -> None:
    corrupt = CorrectnessBits(n=3, bits=base64.b64encode(bytes([0b11111111])).decode())
    with pytest.raises(ValueError, match="padding"):
        decode_correctness(corrupt)


def test_invalid_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_correctness(CorrectnessBits(n=8, bits="**"))
