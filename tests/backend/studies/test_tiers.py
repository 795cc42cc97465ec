"""Tier averages over target languages only, and the transfer gap over the task dataset."""

from __future__ import annotations

import pytest

from backend.studies.tiers import aggregate_score, aggregate_scores, aggregate_weights, cell_order
from worker.training.languages import DATASET_LANGUAGES

XNLI = [("xnli", lang) for lang in DATASET_LANGUAGES["xnli"]]
ANLI = [("americasnli", lang) for lang in DATASET_LANGUAGES["americasnli"]]
PAWSX = [("pawsx", lang) for lang in DATASET_LANGUAGES["pawsx"]]


def test_the_source_language_is_in_no_tier_on_any_dataset() -> None:
    for tier in ("low", "mid", "high"):
        weights = aggregate_weights(tier, XNLI + PAWSX, "en", "xnli")
        assert ("xnli", "en") not in weights and ("pawsx", "en") not in weights


def test_xnli_tiers_and_americasnli_count_as_low() -> None:
    low = aggregate_weights("low", XNLI + ANLI, "en", "xnli")
    assert set(low) == {("xnli", "sw"), *ANLI}
    assert all(w == pytest.approx(1 / 11) for w in low.values())
    assert set(aggregate_weights("mid", XNLI, "en", "xnli")) == {
        ("xnli", x) for x in ("bg", "el", "th", "ur")
    }
    high = aggregate_weights("high", XNLI + ANLI, "en", "xnli")
    assert len(high) == 9 and ("xnli", "de") in high


def test_transfer_gap_is_source_minus_the_task_datasets_targets_only() -> None:
    scores = {
        "xnli": {"en": 0.80, "de": 0.70, "sw": 0.60},
        "americasnli": {"aym": 0.40},
    }
    assert aggregate_score(scores, "transfer_gap", "en", "xnli") == pytest.approx(0.80 - 0.65)
    assert aggregate_score(scores, "low", "en", "xnli") == pytest.approx(0.50)
    assert aggregate_score(scores, "high", "en", "xnli") == pytest.approx(0.70)
    assert aggregate_score(scores, "mid", "en", "xnli") is None


def test_the_task_average_is_every_task_language_source_included_as_papers_report_it() -> None:
    scores = {"xnli": {"en": 0.80, "de": 0.70, "sw": 0.60}, "americasnli": {"aym": 0.40}}
    assert aggregate_score(scores, "task_average", "en", "xnli") == pytest.approx(0.70)
    assert aggregate_score({"americasnli": {"aym": 0.4}}, "task_average", "en", "xnli") is None


def test_a_gap_needs_the_source_and_a_target() -> None:
    assert aggregate_score({"xnli": {"de": 0.7}}, "transfer_gap", "en", "xnli") is None
    assert aggregate_score({"xnli": {"en": 0.8}}, "transfer_gap", "en", "xnli") is None


def test_cells_restrict_a_run_to_the_languages_every_run_has() -> None:
    scores = {"xnli": {"en": 0.8, "sw": 0.6, "ur": 0.5}}
    all_of_them = aggregate_scores(scores, "en", "xnli")
    restricted = aggregate_scores(scores, "en", "xnli", cells=[("xnli", "en"), ("xnli", "sw")])
    assert all_of_them["mid"] == pytest.approx(0.5) and restricted["mid"] is None
    assert all_of_them["transfer_gap"] == pytest.approx(0.25)
    assert restricted["transfer_gap"] == pytest.approx(0.2)


def test_another_source_language_leaves_english_in_high() -> None:
    scores = {"xnli": {"en": 0.7, "de": 0.8, "sw": 0.6}}
    assert aggregate_score(scores, "high", "de", "xnli") == pytest.approx(0.7)


def test_cells_print_in_benchmark_order_with_the_task_dataset_first() -> None:
    ordered = cell_order([("americasnli", "aym"), ("xnli", "sw"), ("xnli", "en"), ("xnli", "ar")], "xnli")
    assert ordered == [("xnli", "en"), ("xnli", "ar"), ("xnli", "sw"), ("americasnli", "aym")]
