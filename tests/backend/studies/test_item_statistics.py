"""Test-item statistics: McNemar against scipy.stats.binomtest, the paired bootstrap against known
answers, scipy.stats.bootstrap and its behaviour under the null."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from backend.studies.item_statistics import mcnemar_test, paired_bootstrap_items, seed_averaged_correctness


def _pair(b: int, c: int, both: int = 10, neither: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Method and baseline correctness with b items only the method got right, c only the baseline."""
    method = [True] * b + [False] * c + [True] * both + [False] * neither
    baseline = [False] * b + [True] * c + [True] * both + [False] * neither
    return np.array(method), np.array(baseline)


@pytest.mark.parametrize(("b", "c"), [(1, 5), (7, 2), (12, 12), (0, 9), (30, 14), (3, 0)])
def test_mcnemar_exact_p_equals_scipy_binomtest(b: int, c: int) -> None:
    result = mcnemar_test(*_pair(b, c))
    assert (result.method_only, result.baseline_only) == (b, c)
    assert result.p_exact == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue)
    assert result.delta == pytest.approx((b - c) / (b + c + 15))


def test_mcnemar_mid_p_worked_example() -> None:
    # b = 1, c = 5: P(X <= 1) = 7/64, P(X = 1) = 6/64 → exact 14/64, mid-p 14/64 - 6/64 = 8/64.
    result = mcnemar_test(*_pair(1, 5))
    assert result.p_exact == pytest.approx(14 / 64)
    assert result.p_mid == pytest.approx(8 / 64)


def test_mcnemar_mid_p_is_below_exact_and_one_when_balanced() -> None:
    assert mcnemar_test(*_pair(12, 12)).p_mid == pytest.approx(1.0)
    result = mcnemar_test(*_pair(30, 14))
    assert result.p_mid < result.p_exact


def test_mcnemar_without_discordant_items_has_p_one() -> None:
    result = mcnemar_test(*_pair(0, 0))
    assert (result.p_exact, result.p_mid, result.delta) == (1.0, 1.0, 0.0)


def test_misaligned_items_are_refused() -> None:
    with pytest.raises(ValueError, match="aligned"):
        mcnemar_test([True, False], [True])
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap_items([([1.0, 0.0], [1.0])], np.random.default_rng(0))


def test_seed_averaging_gives_the_share_of_seeds_right_per_item() -> None:
    shares = seed_averaged_correctness([[True, False, True], [True, True, False], [True, False, False]])
    np.testing.assert_allclose(shares, [1.0, 1 / 3, 1 / 3])


def test_identical_methods_give_zero_delta_and_p_one() -> None:
    items = np.random.default_rng(0).random(300) < 0.6
    result = paired_bootstrap_items([(items, items)], np.random.default_rng(1), n_resamples=200)
    assert (result.delta, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_a_large_difference_gets_the_smallest_p_the_resamples_allow() -> None:
    rng = np.random.default_rng(2)
    method, baseline = np.ones(400, dtype=bool), rng.random(400) < 0.5
    result = paired_bootstrap_items([(method, baseline)], np.random.default_rng(3), n_resamples=999)
    assert result.delta == pytest.approx(1.0 - baseline.mean())
    assert result.p_value == pytest.approx(1 / 1000)
    assert result.ci_low > 0.4


def test_one_stratum_interval_agrees_with_scipy_paired_percentile_bootstrap() -> None:
    rng = np.random.default_rng(4)
    baseline = rng.random(500) < 0.6
    method = np.where(rng.random(500) < 0.15, ~baseline, baseline)
    ours = paired_bootstrap_items([(method, baseline)], np.random.default_rng(5), n_resamples=20_000)
    theirs = stats.bootstrap(
        (method.astype(float), baseline.astype(float)),
        lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
        paired=True,
        n_resamples=20_000,
        method="percentile",
        rng=np.random.default_rng(6),
    ).confidence_interval
    width = theirs.high - theirs.low
    assert ours.ci_low == pytest.approx(theirs.low, abs=0.03 * width)
    assert ours.ci_high == pytest.approx(theirs.high, abs=0.03 * width)


def test_strata_are_weighted_like_a_tier_mean_or_a_transfer_gap() -> None:
    rng = np.random.default_rng(7)
    strata = [(rng.random(n) < 0.7, rng.random(n) < 0.6) for n in (100, 250, 40)]
    per_stratum = [a.mean() - b.mean() for a, b in strata]
    macro = paired_bootstrap_items(strata, np.random.default_rng(0), n_resamples=100)
    assert macro.delta == pytest.approx(np.mean(per_stratum))
    assert (macro.n_items, macro.n_strata) == (390, 3)
    gap = paired_bootstrap_items(strata, np.random.default_rng(0), 100, weights=[1.0, -0.5, -0.5])
    assert gap.delta == pytest.approx(per_stratum[0] - (per_stratum[1] + per_stratum[2]) / 2)


def test_p_values_under_the_null_are_roughly_uniform() -> None:
    rng = np.random.default_rng(8)
    p_values = []
    for _ in range(200):
        truth = rng.random(200) < 0.6  # both methods: the same accuracy, independent errors
        method = np.where(rng.random(200) < 0.2, ~truth, truth)
        baseline = np.where(rng.random(200) < 0.2, ~truth, truth)
        p_values.append(paired_bootstrap_items([(method, baseline)], rng, n_resamples=200).p_value)
    rejections = np.mean(np.array(p_values) < 0.05)
    assert 0.01 <= rejections <= 0.10


def test_bootstrap_is_reproducible_from_the_generator() -> None:
    strata = [(np.arange(50) % 3 == 0, np.arange(50) % 2 == 0)]
    assert paired_bootstrap_items(strata, np.random.default_rng(9), 300) == paired_bootstrap_items(
        strata, np.random.default_rng(9), 300
    )
