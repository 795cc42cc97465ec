"""Resource-tier averages are over target languages only, across every evaluated dataset."""

from __future__ import annotations

import pytest

from worker.training.results import Score
from worker.training.summary import summarize


def _score(dataset: str, language: str, value: float, metric: str = "accuracy") -> Score:
    return Score(dataset=dataset, language=language, split="test", metric=metric, value=value, n=100)


def test_tiers_leave_out_the_source_and_pool_every_dataset() -> None:
    scores = [
        _score("xnli", "en", 0.80),
        _score("xnli", "de", 0.70),
        _score("xnli", "fr", 0.60),
        _score("xnli", "th", 0.50),
        _score("xnli", "sw", 0.40),
        _score("americasnli", "aym", 0.30),
        _score("americasnli", "gn", 0.20),
        _score("stsb", "de", 0.99, metric="pearson"),  # another metric: kept out of the accuracy tiers
    ]
    summary = summarize(scores, "xnli", "en")
    assert summary.by_resource_tier == pytest.approx({"low": 0.30, "mid": 0.50, "high": 0.65})
    assert summary.average == pytest.approx((0.8 + 0.7 + 0.6 + 0.5 + 0.4) / 5)  # the task dataset's languages
    assert summary.transfer_gap == pytest.approx(0.80 - (0.7 + 0.6 + 0.5 + 0.4) / 4)


def test_a_tier_without_target_languages_is_none() -> None:
    summary = summarize([_score("xnli", "en", 0.8), _score("xnli", "sw", 0.4)], "xnli", "en")
    assert summary.by_resource_tier == {"low": 0.4, "mid": None, "high": None}
