"""Verdicts: one label and one plain sentence per method × resource tier (and the transfer gap).

Why: a table of deltas invites reading noise as effects (issue 17: 1.9-point "gains" between runs
that were all at chance). The verdict says only what the statistics carry:

- fewer than `min_seeds` seeds → "inconclusive", whatever the numbers;
- no interval or no p-value (one seed, zero variance) → "inconclusive", with the reason;
- the interval includes 0, or the Holm-adjusted p ≥ alpha → "no detectable change" (the sentence
  keeps the interval, so a wide one is not mistaken for evidence of no effect);
- otherwise "improves" or "hurts" by the sign of the delta (a narrower transfer gap improves).

Item-level evidence (a paired bootstrap on the same test items) gets its own label by the same rule
without the seed count, and its sentence says what it does not cover.
"""

from __future__ import annotations

from backend.studies.report_models import ItemTest, Verdict, VerdictLabel
from backend.studies.tiers import Aggregate

AGGREGATE_NAMES: dict[str, str] = {
    "low": "low-resource languages",
    "mid": "mid-resource languages",
    "high": "high-resource languages",
    "transfer_gap": "the transfer gap",
    "task_average": "the task's average over all its languages",
}


def points(value: float) -> str:
    """An accuracy difference as signed percentage points, e.g. +1.9 (never "-0.0")."""
    return f"{round(100 * value, 1) + 0.0:+.1f}"


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def decide(
    delta: float | None,
    ci: tuple[float, float] | None,
    p_adjusted: float | None,
    n_seeds: int | None,
    *,
    alpha: float = 0.05,
    min_seeds: int = 3,
    higher_is_better: bool = True,
    missing: str | None = None,
) -> tuple[VerdictLabel, str]:
    """The label and its reason. `n_seeds=None` skips the seed count (item-level evidence);
    `missing` explains an absent interval or p-value."""
    if n_seeds is not None and n_seeds < min_seeds:
        return "inconclusive", f"{n_seeds} seed{'s' if n_seeds != 1 else ''}, need ≥ {min_seeds}"
    if delta is None or ci is None or p_adjusted is None:
        return "inconclusive", missing or "no interval or p-value could be computed"
    low, high = ci
    if low <= 0.0 <= high:
        return "no detectable change", "the interval includes 0"
    if p_adjusted >= alpha:
        return "no detectable change", f"Holm-adjusted p = {p_adjusted:.3f} ≥ {alpha:g}"
    better = (delta > 0) == higher_is_better
    return ("improves" if better else "hurts"), f"interval excludes 0 and Holm-adjusted p < {alpha:g}"


def _effect(aggregate: Aggregate, label: VerdictLabel) -> str:
    if aggregate == "transfer_gap" and label in ("improves", "hurts"):
        return f"{label} (the gap {'narrows' if label == 'improves' else 'widens'})"
    return label


def verdict(
    method: str,
    aggregate: Aggregate,
    delta: float | None,
    ci: tuple[float, float] | None,
    p_holm: float | None,
    n_seeds: int,
    *,
    alpha: float = 0.05,
    min_seeds: int = 3,
    missing: str | None = None,
    item: ItemTest | None = None,
) -> Verdict:
    """The verdict for one method × aggregate from its seed-level delta, interval, Holm-adjusted p
    and seed count, plus item-level evidence when a paired bootstrap exists."""
    higher = aggregate != "transfer_gap"
    label, reason = decide(
        delta, ci, p_holm, n_seeds, alpha=alpha, min_seeds=min_seeds, higher_is_better=higher, missing=missing
    )
    where = AGGREGATE_NAMES[aggregate]
    seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
    if delta is None:
        sentence = f"{method} on {where}: {label}: {reason}."
    elif label == "inconclusive":
        sentence = f"{method} on {where}: {label}: {reason} ({points(delta)} points observed, no claim)."
    else:
        interval = f" [{points(ci[0])}, {points(ci[1])}]" if ci else ""
        p = f", {p_text(p_holm)} after Holm" if p_holm is not None else ""
        sentence = f"{method}: {points(delta)}{interval} points on {where}{p} over {seeds}: "
        sentence += (
            _effect(aggregate, label) + ("" if label in ("improves", "hurts") else f" ({reason})") + "."
        )
    item_label = item_sentence = None
    if item is not None and item.test == "paired_bootstrap":
        ci_item = (
            (item.ci_low, item.ci_high) if item.ci_low is not None and item.ci_high is not None else None
        )
        item_label, item_reason = decide(
            item.delta, ci_item, item.p_holm, None, alpha=alpha, higher_is_better=higher
        )
        interval = f" [{points(ci_item[0])}, {points(ci_item[1])}]" if ci_item else ""
        p = f", {p_text(item.p_holm)} after Holm" if item.p_holm is not None else ""
        item_sentence = (
            f"Item-level evidence (paired bootstrap over {item.n_items:,} test items, seeds averaged "
            f"per item, {item.method_runs} vs {item.baseline_runs} runs; covers the sampling of test "
            f"items, not seed-to-seed variation): {points(item.delta)}{interval} points{p}: "
            f"{_effect(aggregate, item_label)} on these test items"
            + ("" if item_label in ("improves", "hurts") else f" ({item_reason})")
            + "."
        )
    return Verdict(
        method=method,
        aggregate=aggregate,
        label=label,
        reason=reason,
        sentence=sentence,
        item_label=item_label,
        item_sentence=item_sentence,
    )
