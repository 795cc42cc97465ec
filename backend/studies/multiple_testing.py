"""Holm-Bonferroni correction over a family of p-values.

Why: a study tests every method against the baseline on every resource tier and on the transfer gap
(7 methods × 4 = 28 tests for the paper's grid). At alpha = 0.05 one of them would come out
"significant" by chance more often than not, so verdicts use family-wise adjusted p-values. Holm
(1979) controls the family-wise error rate like Bonferroni under any dependence between the tests,
and is uniformly more powerful.

Adjusted p-values (the step-down form, as statsmodels' `multipletests(method="holm")` computes
them): sort the m p-values ascending, p_(1) ≤ … ≤ p_(m); p~_(i) = min(1, max_{j ≤ i} (m - j + 1) p_(j)).
Reject hypothesis i when p~_i < alpha. Hypotheses without a p-value (one seed, zero variance) are not
tested and are not counted in m; they keep None.
"""

from __future__ import annotations

from collections.abc import Sequence


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the input order; None stays None and does not count in the family."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    for p, _ in tested:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value {p} is not in [0, 1]")
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted
