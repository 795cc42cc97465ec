"""Test-item statistics: do two methods differ on the same test items?

Why: seed-level tests need several seeds per method; test-item tests give evidence even with one
seed, as the NLP significance literature recommends (Koehn 2004; Berg-Kirkpatrick et al. 2012;
Dror et al. 2018). They answer a narrower question, though: whether *these trained models* differ
on *these test items*. They capture the sampling of test items, not the spread between training
seeds, so a report labels them item-level evidence and never lets them override a seed-level verdict.

- Paired bootstrap (Koehn 2004; Berg-Kirkpatrick et al. 2012): resample items with replacement,
  the same items for both methods, and recompute the difference in accuracy. Several seeds per method
  are first averaged per item (each item's correctness becomes the share of seeds that got it right):
  the accuracy difference is then exactly the difference of the seed-mean accuracies the seed-level
  table shows, every run counts, and unequal seed counts need no arbitrary pairing. Several languages
  are strata: items are resampled within each language and the statistic is a weighted sum of the
  per-language differences (equal weights = the macro average a tier reports).
  Interval: percentile. p (two-sided): the share of resampled differences at least |delta| away from
  delta, i.e. the bootstrap distribution shifted to the null (Berg-Kirkpatrick et al.'s "delta* > 2
  delta" in both directions), with the +1 correction so p is never 0 (Davison & Hinkley 1997).
- McNemar (one run per side): an exact binomial test on the discordant items (one method right, the
  other wrong) and the mid-p version, which keeps the exact test's validity with less conservatism
  (Fagerland, Lydersen & Laake 2013).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


@dataclass(frozen=True)
class ItemBootstrap:
    """Paired bootstrap over test items: delta (method minus baseline accuracy), interval, p."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n_items: int
    n_strata: int
    n_resamples: int
    confidence: float


@dataclass(frozen=True)
class McNemarTest:
    """McNemar's test on one run per side: discordant counts, accuracy difference, exact and mid p."""

    method_only: int  # items the method got right and the baseline wrong
    baseline_only: int  # items the baseline got right and the method wrong
    n_items: int
    delta: float  # (method_only - baseline_only) / n_items: the accuracy difference
    p_exact: float
    p_mid: float


def seed_averaged_correctness(runs: Sequence[ArrayLike]) -> NDArray[np.float64]:
    """Per-item share of runs (seeds) that got the item right: (k runs of n items) → (n,)."""
    if not runs:
        raise ValueError("no runs to average")
    matrix = np.stack([np.asarray(r, dtype=np.float64) for r in runs])  # (k, n); fails on unequal n
    return matrix.mean(axis=0)


def _differences(strata: Sequence[tuple[ArrayLike, ArrayLike]]) -> list[NDArray[np.float64]]:
    out = []
    for method, baseline in strata:
        a, b = np.asarray(method, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
        if a.shape != b.shape or a.ndim != 1:
            raise ValueError(f"paired items must be aligned 1-d arrays, got {a.shape} and {b.shape}")
        if a.size == 0:
            raise ValueError("a stratum has no items")
        out.append(a - b)
    return out


def paired_bootstrap_items(
    strata: Sequence[tuple[ArrayLike, ArrayLike]],
    rng: np.random.Generator,
    n_resamples: int = 1_000,
    confidence: float = 0.95,
    weights: Sequence[float] | None = None,
) -> ItemBootstrap:
    """Paired bootstrap of sum_l w_l · (mean method_l − mean baseline_l) over strata l (languages).

    Each stratum is a (method, baseline) pair of aligned per-item correctness arrays (booleans, or
    seed-averaged shares in [0, 1]); items are resampled within their stratum, the same indices for
    both sides. `weights` default to 1/L each (the macro average over languages)."""
    diffs = _differences(strata)
    if not diffs:
        raise ValueError("no strata")
    w = np.full(len(diffs), 1.0 / len(diffs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(diffs),):
        raise ValueError(f"{w.size} weights for {len(diffs)} strata")
    delta = float(sum(wl * d.mean() for wl, d in zip(w, diffs, strict=True)))
    resampled = np.zeros(n_resamples)  # (n_resamples,)
    for wl, d in zip(w, diffs, strict=True):
        # A resample's mean depends only on how often each distinct value is drawn, and those counts
        # are multinomial: the same distribution as drawing n items with replacement, at the cost of
        # a few distinct values ((k+1)² for k seeds a side) instead of n items per resample.
        values, inverse = np.unique(d, return_inverse=True)
        shares = np.bincount(inverse, minlength=values.size) / d.size
        counts = rng.multinomial(d.size, shares, size=n_resamples)  # (n_resamples, distinct values)
        resampled += wl * (counts @ values) / d.size
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail])
    # Tolerance so that float noise in the resampled sums does not decide ties (delta = 0 gives p = 1).
    extreme = np.abs(resampled - delta) >= abs(delta) - 1e-12
    p = float((1 + int(extreme.sum())) / (n_resamples + 1))
    return ItemBootstrap(
        delta=delta,
        ci_low=float(low),
        ci_high=float(high),
        p_value=min(1.0, p),
        n_items=int(sum(d.size for d in diffs)),
        n_strata=len(diffs),
        n_resamples=n_resamples,
        confidence=confidence,
    )


def mcnemar_test(method_correct: ArrayLike, baseline_correct: ArrayLike) -> McNemarTest:
    """McNemar's exact test (two-sided binomial test of the discordant counts against 1/2, equal to
    `scipy.stats.binomtest(b, b + c).pvalue`) and its mid-p value, 2·P(X ≤ k) − P(X = k) with
    k = min(b, c). No discordant items: both p-values are 1."""
    a = np.asarray(method_correct, dtype=np.bool_)
    b_ = np.asarray(baseline_correct, dtype=np.bool_)
    if a.shape != b_.shape or a.ndim != 1:
        raise ValueError(f"paired items must be aligned 1-d arrays, got {a.shape} and {b_.shape}")
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    n, k = b + c, min(b, c)
    if n == 0:
        p_exact = p_mid = 1.0
    else:
        p_exact = min(1.0, float(2.0 * stats.binom.cdf(k, n, 0.5)))
        p_mid = min(1.0, float(2.0 * stats.binom.cdf(k, n, 0.5) - stats.binom.pmf(k, n, 0.5)))
    delta = (b - c) / a.size if a.size else 0.0
    return McNemarTest(b, c, int(a.size), delta, p_exact, p_mid)
