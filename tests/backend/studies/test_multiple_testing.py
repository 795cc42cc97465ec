"""Holm-Bonferroni against worked examples (the step-down form statsmodels' multipletests uses)."""

from __future__ import annotations

import pytest

from backend.studies.multiple_testing import holm_adjust


def test_holm_worked_example_in_input_order() -> None:
    # Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06.
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_is_monotone_in_the_sorted_order_and_capped_at_one() -> None:
    # 0.01·5 = 0.05, 0.02·4 = 0.08, 0.03·3 = 0.09, 0.04·2 = 0.08, 0.05·1 = 0.05; running max as below.
    assert holm_adjust([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert holm_adjust([0.3, 0.5, 0.9]) == pytest.approx([0.9, 1.0, 1.0])


def test_holm_rejects_what_bonferroni_rejects_and_sometimes_more() -> None:
    p = [0.012, 0.013, 0.2]
    bonferroni = [min(1.0, 3 * x) for x in p]
    holm = holm_adjust(p)
    assert all(h is not None and h <= b for h, b in zip(holm, bonferroni, strict=True))
    assert sum(b < 0.05 for b in bonferroni) == 2 and sum(h is not None and h < 0.05 for h in holm) == 2


def test_untested_hypotheses_keep_none_and_do_not_count_in_the_family() -> None:
    assert holm_adjust([None, 0.02, None, 0.04]) == pytest.approx([None, 0.04, None, 0.04])


def test_empty_and_single_families() -> None:
    assert holm_adjust([]) == []
    assert holm_adjust([0.03]) == [0.03]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_values_outside_zero_one_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="not in"):
        holm_adjust([0.01, bad])
