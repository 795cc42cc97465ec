"""Seed-level statistics against hand computations and scipy.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from backend.studies.seed_statistics import (
    bootstrap_difference_interval,
    compare_seeds,
    compare_seeds_many,
    paired_t_interval,
    welch_p_value,
)

METHOD = [0.612, 0.634, 0.598, 0.641, 0.627]
BASELINE = [0.601, 0.615, 0.600, 0.622, 0.610]


def test_paired_t_interval_of_one_two_three_matches_the_hand_computation() -> None:
    # mean 2, sd 1, se 1/sqrt(3); t(0.975, 2) = 4.302653; t = 2 sqrt(3); with 2 df the t cdf is
    # 1/2 + t / (2 sqrt(2 + t^2)), so p = 1 - t / sqrt(2 + t^2) = 1 - sqrt(12/14).
    result = paired_t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)
    assert result.delta == pytest.approx(2.0)
    assert result.ci_low == pytest.approx(2.0 - half)
    assert result.ci_high == pytest.approx(2.0 + half)
    assert result.p_value == pytest.approx(1.0 - math.sqrt(12 / 14))
    assert (result.design, result.n_pairs, result.reason) == ("paired", 3, None)


def test_paired_t_matches_scipy_ttest_rel_and_t_interval() -> None:
    d = np.subtract(METHOD, BASELINE)
    result = paired_t_interval(d, confidence=0.9)
    low, high = stats.t.interval(0.9, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.p_value == pytest.approx(stats.ttest_rel(METHOD, BASELINE).pvalue)


def test_t_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    samples = rng.normal(0.02, 0.01, size=(1000, 4))
    covered = 0
    for sample in samples:
        result = paired_t_interval(sample)
        assert result.ci_low is not None and result.ci_high is not None
        covered += result.ci_low <= 0.02 <= result.ci_high
    assert 0.93 <= covered / len(samples) <= 0.97


def test_one_pair_gives_the_difference_but_no_interval() -> None:
    result = paired_t_interval([0.02])
    assert result.delta == pytest.approx(0.02)
    assert (result.ci_low, result.ci_high, result.p_value) == (None, None, None)
    assert not result.has_interval
    assert result.reason == "one paired seed: no interval"


def test_no_pairs_gives_nothing() -> None:
    result = paired_t_interval([])
    assert result.delta is None and result.reason == "no paired seeds"


def test_nan_differences_are_dropped() -> None:
    with_nan = paired_t_interval([1.0, float("nan"), 2.0, 3.0])
    assert with_nan == paired_t_interval([1.0, 2.0, 3.0])


def test_the_same_nonzero_difference_on_every_seed_gives_no_interval() -> None:
    result = paired_t_interval([0.61 - 0.60, 0.63 - 0.62, 0.65 - 0.64])
    assert result.delta == pytest.approx(0.01)
    assert not result.has_interval and result.p_value is None
    assert result.reason is not None and "zero variance" in result.reason


def test_identical_scores_on_every_seed_give_a_zero_interval_and_p_one() -> None:
    result = paired_t_interval([0.0, 0.0, 0.0])
    assert (result.delta, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_welch_p_value_matches_scipy() -> None:
    a, b = [0.61, 0.64, 0.60, 0.66], [0.58, 0.59, 0.61, 0.57, 0.60, 0.62]
    assert welch_p_value(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_welch_needs_two_values_a_side() -> None:
    assert welch_p_value([0.6], [0.5, 0.55]) is None
    assert welch_p_value([0.6, 0.6], [0.6, 0.6]) == 1.0
    assert welch_p_value([0.6, 0.6], [0.5, 0.5]) is None


def test_bootstrap_interval_agrees_with_scipy_percentile_bootstrap() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.63, 0.01, 8), rng.normal(0.61, 0.012, 9)
    ours = bootstrap_difference_interval(a, b, np.random.default_rng(0), n_resamples=20_000)
    theirs = stats.bootstrap(
        (a, b),
        lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
        n_resamples=20_000,
        method="percentile",
        rng=np.random.default_rng(1),
    ).confidence_interval
    assert ours.ci_low is not None and ours.ci_high is not None
    width = theirs.high - theirs.low
    assert ours.ci_low == pytest.approx(theirs.low, abs=0.03 * width)
    assert ours.ci_high == pytest.approx(theirs.high, abs=0.03 * width)
    assert ours.delta == pytest.approx(a.mean() - b.mean())
    assert ours.p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert (ours.design, ours.n_method, ours.n_baseline, ours.n_pairs) == ("unpaired", 8, 9, 0)


def test_bootstrap_is_reproducible_from_the_generator() -> None:
    first = bootstrap_difference_interval(METHOD, BASELINE[:4], np.random.default_rng(5), 2000)
    again = bootstrap_difference_interval(METHOD, BASELINE[:4], np.random.default_rng(5), 2000)
    assert first == again


def test_bootstrap_needs_two_seeds_a_side() -> None:
    result = bootstrap_difference_interval([0.6], [0.5, 0.52], np.random.default_rng(0))
    assert result.delta == pytest.approx(0.09)
    assert not result.has_interval and result.reason is not None and "at least 2" in result.reason


def test_compare_seeds_pairs_the_shared_seeds() -> None:
    method = dict(zip(range(1, 6), METHOD, strict=True))
    baseline = dict(zip(range(1, 6), BASELINE, strict=True))
    result = compare_seeds(method, baseline, np.random.default_rng(0))
    assert result.design == "paired" and result.n_pairs == 5
    assert result.p_value == pytest.approx(stats.ttest_rel(METHOD, BASELINE).pvalue)


def test_compare_seeds_drops_unshared_seeds_but_counts_them() -> None:
    method = dict(zip(range(1, 6), METHOD, strict=True))
    baseline = {1: BASELINE[0], 2: BASELINE[1], 4: BASELINE[3], 5: BASELINE[4]}
    result = compare_seeds(method, baseline, np.random.default_rng(0))
    kept = [0, 1, 3, 4]
    expected = stats.ttest_rel([METHOD[i] for i in kept], [BASELINE[i] for i in kept]).pvalue
    assert (result.design, result.n_method, result.n_baseline, result.n_pairs) == ("paired", 5, 4, 4)
    assert result.p_value == pytest.approx(expected)


def test_compare_seeds_without_two_shared_seeds_is_unpaired() -> None:
    method = {1: 0.61, 2: 0.63, 3: 0.62}
    baseline = {3: 0.60, 4: 0.59, 5: 0.605}
    result = compare_seeds(method, baseline, np.random.default_rng(0), n_resamples=500)
    assert result.design == "unpaired" and result.n_pairs == 0
    assert result.p_value == pytest.approx(
        stats.ttest_ind(list(method.values()), list(baseline.values()), equal_var=False).pvalue
    )


def test_compare_seeds_ignores_nan_scores() -> None:
    result = compare_seeds(
        {1: 0.6, 2: float("nan"), 3: 0.62}, {1: 0.59, 2: 0.6, 3: 0.6}, np.random.default_rng(0)
    )
    assert result.n_pairs == 2 and result.n_method == 2


def test_compare_seeds_many_gives_the_numbers_of_compare_seeds_one_by_one() -> None:
    """The compare page's batch: paired rows vectorised (constant ones included), unpaired ones
    bootstrapped in order from the same generator."""
    rng = np.random.default_rng(5)
    comparisons = [
        (
            {s: float(v) for s, v in enumerate(rng.normal(0.6, 0.02, n))},
            {s: 0.58 + s / 1000 for s in range(n)},
        )
        for n in (2, 3, 3, 5)
    ]
    comparisons.append(({1: 0.6, 2: 0.7, 3: 0.65}, {1: 0.5, 2: 0.6, 3: 0.55}))  # constant difference
    comparisons.append(({1: 0.6, 2: 0.6}, {1: 0.6, 2: 0.6}))  # identical
    comparisons.append(({1: 0.6, 2: 0.62}, {7: 0.5, 8: 0.55}))  # unpaired
    comparisons.append(({1: 0.6}, {1: 0.5}))  # one seed
    batch = compare_seeds_many(comparisons, np.random.default_rng(0), 500)
    one_rng = np.random.default_rng(0)
    single = [compare_seeds(a, b, one_rng, 500) for a, b in comparisons]
    assert len(batch) == len(single)
    for got, want in zip(batch, single, strict=True):
        assert (got.design, got.n_method, got.n_baseline, got.n_pairs, got.reason) == (
            want.design,
            want.n_method,
            want.n_baseline,
            want.n_pairs,
            want.reason,
        )
        for field in ("delta", "ci_low", "ci_high", "p_value"):
            value, expected = getattr(got, field), getattr(want, field)
            assert value == (None if expected is None else pytest.approx(expected, rel=1e-12)), field
