"""Verdicts never claim what the numbers do not carry."""

from __future__ import annotations

import pytest

from backend.studies.report_models import ItemTest
from backend.studies.verdicts import decide, points, verdict


def test_too_few_seeds_is_inconclusive_whatever_the_numbers() -> None:
    label, reason = decide(0.05, (0.04, 0.06), 0.0001, 2)
    assert (label, reason) == ("inconclusive", "2 seeds, need ≥ 3")
    assert decide(0.05, (0.04, 0.06), 0.0001, 4, min_seeds=5)[0] == "inconclusive"


def test_an_interval_that_crosses_zero_is_no_detectable_change_even_with_small_p() -> None:
    assert decide(0.01, (-0.001, 0.021), 0.01, 5) == ("no detectable change", "the interval includes 0")


def test_holm_adjusted_p_at_or_above_alpha_is_no_detectable_change() -> None:
    label, reason = decide(0.01, (0.001, 0.019), 0.05, 5)
    assert label == "no detectable change" and "Holm-adjusted p = 0.050" in reason


def test_effects_need_both_the_interval_and_the_adjusted_p() -> None:
    assert decide(0.02, (0.01, 0.03), 0.01, 5)[0] == "improves"
    assert decide(-0.02, (-0.03, -0.01), 0.01, 5)[0] == "hurts"
    assert decide(-0.02, (-0.03, -0.01), 0.01, 5, higher_is_better=False)[0] == "improves"


def test_missing_interval_is_inconclusive_with_its_reason() -> None:
    assert decide(0.01, None, None, 5, missing="zero variance") == ("inconclusive", "zero variance")


def test_sentence_of_an_effect_gives_delta_interval_holm_p_and_seeds() -> None:
    v = verdict("rs_rp", "low", 0.019, (0.007, 0.031), 0.01, 5)
    assert v.label == "improves"
    expected = "rs_rp: +1.9 [+0.7, +3.1] points on low-resource languages, p = 0.010 after Holm over 5 seeds"
    assert v.sentence == expected + ": improves."


def test_sentence_of_an_inconclusive_comparison_makes_no_claim() -> None:
    v = verdict("rs_rp", "high", 0.019, (0.001, 0.037), 0.2, 2)
    assert (v.label, v.reason) == ("inconclusive", "2 seeds, need ≥ 3")
    assert "no claim" in v.sentence and "improves" not in v.sentence


def test_a_narrower_transfer_gap_is_an_improvement() -> None:
    v = verdict("stsb", "transfer_gap", -0.02, (-0.03, -0.01), 0.001, 5)
    assert v.label == "improves" and "the gap narrows" in v.sentence


def _item(delta: float, low: float, high: float, p_holm: float) -> ItemTest:
    return ItemTest(
        method="rs_rp",
        aggregate="low",
        test="paired_bootstrap",
        cells=["xnli/sw"],
        method_runs=2,
        baseline_runs=2,
        n_items=4980,
        delta=delta,
        ci_low=low,
        ci_high=high,
        p_value=p_holm / 4,
        p_holm=p_holm,
    )


def test_item_evidence_is_labelled_separately_and_never_changes_the_seed_verdict() -> None:
    v = verdict("rs_rp", "low", 0.012, (-0.01, 0.034), None, 2, item=_item(0.011, 0.003, 0.019, 0.02))
    assert v.label == "inconclusive"
    assert v.item_label == "improves"
    assert v.item_sentence is not None
    assert v.item_sentence.startswith("Item-level evidence (paired bootstrap over 4,980 test items")
    assert "not seed-to-seed variation" in v.item_sentence


def test_item_evidence_follows_the_same_rule() -> None:
    v = verdict("rs_rp", "low", 0.012, (0.002, 0.022), 0.01, 5, item=_item(0.004, -0.002, 0.01, 0.3))
    assert v.label == "improves" and v.item_label == "no detectable change"


@pytest.mark.parametrize(("value", "text"), [(0.019, "+1.9"), (-0.0004, "+0.0"), (-0.0251, "-2.5")])
def test_points_are_signed_and_never_negative_zero(value: float, text: str) -> None:
    assert points(value) == text
