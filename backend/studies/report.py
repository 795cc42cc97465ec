"""Build a study's report from its runs: per-language deltas, tier and transfer-gap tests with Holm
correction, item-level evidence, verdicts, excluded runs and the rules that were applied.

Why one function: the API, the study page and `xlt report` must show the same numbers, so they all
render what `build_study_report` returns; it takes plain values (no SQL, no ORM) so it is tested on
constructed runs with planted effects. Every rule it applies is also written into `report.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from backend.studies.item_evidence import CorrectnessCache, item_tests, keyed_rng, pairable_cells
from backend.studies.multiple_testing import holm_adjust
from backend.studies.report_models import (
    AggregateRow,
    Estimate,
    ExcludedRun,
    ItemTest,
    LanguageRow,
    StudyReport,
    StudyRun,
    Verdict,
)
from backend.studies.seed_statistics import compare_seeds
from backend.studies.tiers import AGGREGATES, Aggregate, Cell, aggregate_weights, cell_order
from backend.studies.verdicts import points, verdict
from worker.training.languages import tier

DID_NOT_LEARN = ("did not learn",)  # warning text of worker.training.diagnostics.chance_warning
ITEM_RESAMPLES = 2_000  # default paired-bootstrap resamples (Koehn 2004 used 1,000)


def screen_runs(
    runs: Sequence[StudyRun], exclude_warnings: Sequence[str]
) -> tuple[list[StudyRun], list[ExcludedRun]]:
    """Runs that enter the statistics, and the others with the reason they were left out."""
    included: list[StudyRun] = []
    excluded: list[ExcludedRun] = []
    seen: dict[tuple[str, int], int] = {}
    for run in runs:
        reason = None
        flagged = [w for w in run.warnings if any(marker in w for marker in exclude_warnings)]
        if run.status != "succeeded":
            reason = f"status {run.status}"
        elif flagged:
            reason = f"did not learn: {flagged[0]}"
        elif (run.method, run.seed) in seen:
            reason = f"duplicate of run {seen[(run.method, run.seed)]} (same method and seed)"
        if reason is None:
            seen[(run.method, run.seed)] = run.run_id
            included.append(run)
        else:
            excluded.append(ExcludedRun(run_id=run.run_id, method=run.method, seed=run.seed, reason=reason))
    return included, excluded


def _cells(run: StudyRun) -> set[Cell]:
    return {(d, lang) for d, by_lang in run.scores.items() for lang in by_lang}


def _mean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _estimate(
    method: dict[int, float], baseline: dict[int, float], rng: np.random.Generator, n: int, conf: float
) -> Estimate:
    interval = compare_seeds(method, baseline, rng, n, conf)
    return Estimate.of(interval, _mean(list(method.values())), _mean(list(baseline.values())))


def _rules(
    task: str, source: str, alpha: float, conf: float, min_seeds: int, n_tests: int, markers: Sequence[str]
) -> list[str]:
    pct = f"{100 * conf:g}%"
    return [
        "Excluded runs: runs that did not succeed, and runs whose warnings say "
        + " or ".join(f"'{m}'" for m in markers)
        + " (the task stage never left chance-level loss, so every score is at chance), are left out "
        "of all statistics and listed with their reason; a second run with the same method and seed "
        "is left out as a duplicate.",
        f"Seeds: a method is compared with the baseline seed by seed (seed i with seed i) over the seeds "
        f"both have, when at least two are shared: mean difference with a {pct} Student-t interval and "
        f"the paired t-test. Otherwise unpaired: a {pct} percentile bootstrap interval of the difference "
        "of means and Welch's t-test.",
        f"Tiers: a run's tier score is the mean over the tier's target languages (never the source "
        f"language '{source}') across every evaluated dataset, over the dataset/language cells every "
        f"included run has (AmericasNLI's languages are low-resource). Transfer gap: the source score "
        f"minus the mean of {task}'s target languages; a narrower gap is an improvement. Task average: "
        f"the mean over every {task} language, the source included (the average papers report).",
        f"Multiple testing: Holm-Bonferroni over the {n_tests} method × tier/gap/average tests that have a "
        f"p-value, at alpha = {alpha:g}. Per-language intervals are descriptive and not corrected; "
        "verdicts are given per tier, for the gap and for the task average only.",
        f"Verdicts: fewer than {min_seeds} seeds is inconclusive; an effect is claimed only when the "
        f"{pct} interval excludes 0 and the Holm-adjusted p < {alpha:g}; otherwise 'no detectable change'.",
        "Item-level evidence (where runs stored per-item correctness): a paired bootstrap over the same "
        "test items, each item's correctness averaged over a method's seeds, items resampled within "
        "each language, Holm-corrected over the study's bootstrap tests, plus McNemar's test (exact "
        "and mid-p, items pooled) when each side has one run. It covers the choice of test items, not "
        "seed-to-seed variation, and never changes a seed-level verdict.",
    ]


def _language_rows(
    methods: Sequence[str],
    by_method: dict[str, list[StudyRun]],
    baseline: str,
    cells: Sequence[Cell],
    source: str,
    seed: int,
    n_resamples: int,
    confidence: float,
) -> list[LanguageRow]:
    """Method vs baseline on every cell any included run has, from the runs that have it."""
    rows = []
    for m in methods:
        for d, lang in cells:
            mine = {r.seed: r.scores[d][lang] for r in by_method[m] if lang in r.scores.get(d, {})}
            theirs = {r.seed: r.scores[d][lang] for r in by_method[baseline] if lang in r.scores.get(d, {})}
            rng = keyed_rng(seed, "language", m, d, lang)
            estimate = _estimate(mine, theirs, rng, n_resamples, confidence)
            rows.append(
                LanguageRow(
                    method=m,
                    dataset=d,
                    language=lang,
                    tier=tier(lang),
                    is_source=lang == source,
                    estimate=estimate,
                )
            )
    return rows


def _aggregate_rows(
    methods: Sequence[str],
    by_method: dict[str, list[StudyRun]],
    baseline: str,
    weights: dict[Aggregate, dict[Cell, float]],
    seed: int,
    n_resamples: int,
    confidence: float,
) -> list[AggregateRow]:
    """Method vs baseline on each defined tier mean and the gap, Holm-adjusted over all rows."""
    rows = []
    for m in methods:
        for agg, w in weights.items():

            def value(run: StudyRun, w: dict[Cell, float] = w) -> float:
                return sum(x * run.scores[d][lang] for (d, lang), x in w.items())

            mine = {r.seed: value(r) for r in by_method[m]}
            theirs = {r.seed: value(r) for r in by_method[baseline]}
            estimate = _estimate(mine, theirs, keyed_rng(seed, "aggregate", m, agg), n_resamples, confidence)
            rows.append(
                AggregateRow(
                    method=m, aggregate=agg, cells=[f"{d}/{lang}" for d, lang in w], estimate=estimate
                )
            )
    for row, p in zip(rows, holm_adjust([r.estimate.p_value for r in rows]), strict=True):
        row.p_holm = p
    return rows


def _verdict(row: AggregateRow, item: ItemTest | None, alpha: float, min_seeds: int) -> Verdict:
    e = row.estimate
    ci = (e.ci_low, e.ci_high) if e.ci_low is not None and e.ci_high is not None else None
    return verdict(
        row.method,
        row.aggregate,
        e.delta,
        ci,
        row.p_holm,
        e.n_seeds,
        alpha=alpha,
        min_seeds=min_seeds,
        missing=e.reason,
        item=item,
    )


def _gap_caution(v: Verdict, languages: Sequence[LanguageRow]) -> Verdict:
    """A narrower transfer gap is no transfer gain when the source language itself dropped: say so
    beside any "improves" on the gap, so the sentence never claims what the numbers don't carry."""
    if v.aggregate != "transfer_gap" or "improves" not in (v.label, v.item_label):
        return v
    source = [r.estimate.delta for r in languages if r.method == v.method and r.is_source]
    drop = min((d for d in source if d is not None), default=None)
    if drop is None or drop >= 0:
        return v
    caution = (
        f" Caution: the source language itself moved {points(drop)} points, so the narrower gap is"
        " (at least partly) a loss on the source, not a transfer gain; read the tiers."
    )
    update: dict[str, str] = {}
    if v.label == "improves":
        update["sentence"] = v.sentence + caution
    if v.item_label == "improves" and v.item_sentence:
        update["item_sentence"] = v.item_sentence + caution
    return v.model_copy(update=update)


def build_study_report(
    runs: Sequence[StudyRun],
    baseline_method: str,
    alpha: float = 0.05,
    min_seeds: int = 3,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    item_resamples: int | None = None,
    bootstrap_seed: int = 0,
    exclude_warnings: Sequence[str] = DID_NOT_LEARN,
) -> StudyReport:
    """The study's report. Runs must share one task and source language and include the baseline
    method; bootstrap resamples are fixed by `bootstrap_seed`, so the report is reproducible.
    `item_resamples` defaults to 2,000, raised when the family of tests is large enough that the
    smallest attainable p-value could not pass Holm."""
    if not runs:
        raise ValueError("a study report needs runs")
    tasks, sources = {r.task for r in runs}, {r.source_language for r in runs}
    if len(tasks) != 1 or len(sources) != 1:
        raise ValueError(f"runs mix tasks {sorted(tasks)} or source languages {sorted(sources)}")
    task, source = tasks.pop(), sources.pop()
    if baseline_method not in {r.method for r in runs}:
        raise ValueError(f"no run of the baseline method {baseline_method!r}")
    included, excluded = screen_runs(runs, exclude_warnings)
    methods = [m for m in dict.fromkeys(r.method for r in runs) if m != baseline_method]
    by_method = {m: [r for r in included if r.method == m] for m in [baseline_method, *methods]}
    every_cell = cell_order(set().union(*(_cells(r) for r in included)), task) if included else []
    common = cell_order(set.intersection(*(_cells(r) for r in included)), task) if included else []
    notes = [
        f"{d}/{lang}: not evaluated by every run, left out of tiers"
        for d, lang in every_cell
        if (d, lang) not in common
    ]
    weights = {agg: aggregate_weights(agg, common, source, task) for agg in AGGREGATES}
    notes += [
        f"{agg}: not computed, no such language (or no source score) in every run"
        for agg, w in weights.items()
        if not w
    ]
    weights = {agg: w for agg, w in weights.items() if w}
    seed = bootstrap_seed
    languages = _language_rows(
        methods, by_method, baseline_method, every_cell, source, seed, n_resamples, confidence
    )
    aggregates = _aggregate_rows(methods, by_method, baseline_method, weights, seed, n_resamples, confidence)

    notes += pairable_cells(included, common)[1]
    # Enough resamples that the smallest bootstrap p, 1/(B+1), survives Holm over the whole family.
    item_resamples = item_resamples or max(ITEM_RESAMPLES, math.ceil(2 * len(aggregates) / alpha))
    if aggregates and len(aggregates) / (item_resamples + 1) >= alpha:
        notes.append(f"{item_resamples} item resamples are too few for an item-level test to pass Holm")
    cache = CorrectnessCache()
    tests = [
        t
        for row in aggregates
        for t in item_tests(
            row.method,
            row.aggregate,
            by_method[row.method],
            by_method[baseline_method],
            common,
            source,
            task,
            cache,
            seed=seed,
            n_resamples=item_resamples,
            confidence=confidence,
        )
    ]
    boots = [t for t in tests if t.test == "paired_bootstrap"]
    for t, p in zip(boots, holm_adjust([t.p_value for t in boots]), strict=True):
        t.p_holm = p
    boot_of = {(t.method, t.aggregate): t for t in boots}
    verdicts = [
        _verdict(row, boot_of.get((row.method, row.aggregate)), alpha, min_seeds) for row in aggregates
    ]
    verdicts = [_gap_caution(v, languages) for v in verdicts]

    n_tests = sum(a.estimate.p_value is not None for a in aggregates)
    return StudyReport(
        task=task,
        source_language=source,
        baseline_method=baseline_method,
        methods=methods,
        seeds={m: sorted(r.seed for r in rs) for m, rs in by_method.items()},
        alpha=alpha,
        confidence=confidence,
        min_seeds=min_seeds,
        n_resamples=n_resamples,
        item_resamples=item_resamples,
        bootstrap_seed=bootstrap_seed,
        rules=_rules(task, source, alpha, confidence, min_seeds, n_tests, exclude_warnings),
        excluded=excluded,
        languages=languages,
        aggregates=aggregates,
        item_tests=tests,
        verdicts=verdicts,
        notes=notes,
    )
