"""What the experiment page shows of a study: the report's rows arranged for reading (verdicts per
method, one language table with a column per method), built from the StudyReport the API returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.services.studies import ExperimentOverview
from backend.studies.report_models import AggregateRow, Estimate, ItemTest, StudyReport, Verdict
from worker.training.languages import Tier

AGGREGATE_TITLES = {
    "low": "Low-resource languages",
    "mid": "Mid-resource languages",
    "high": "High-resource languages",
    "transfer_gap": "Transfer gap (lower is better)",
    "task_average": "Task average (every language, as papers report it)",
}


@dataclass(frozen=True)
class VerdictRow:
    aggregate: str
    title: str
    row: AggregateRow
    verdict: Verdict | None
    item: ItemTest | None


@dataclass(frozen=True)
class LanguageLine:
    """One (dataset, language) across methods: the baseline's mean and each method's estimate."""

    dataset: str
    language: str
    tier: Tier
    is_source: bool
    baseline_mean: float | None
    by_method: dict[str, Estimate]


def verdict_rows(report: StudyReport) -> dict[str, list[VerdictRow]]:
    verdicts = {(v.method, v.aggregate): v for v in report.verdicts}
    boots = {(t.method, t.aggregate): t for t in report.item_tests if t.test == "paired_bootstrap"}
    rows: dict[str, list[VerdictRow]] = {m: [] for m in report.methods}
    for a in report.aggregates:
        key = (a.method, a.aggregate)
        rows.setdefault(a.method, []).append(
            VerdictRow(a.aggregate, AGGREGATE_TITLES[a.aggregate], a, verdicts.get(key), boots.get(key))
        )
    return rows


def language_lines(report: StudyReport) -> list[LanguageLine]:
    lines: dict[tuple[str, str], LanguageLine] = {}
    for r in report.languages:
        line = lines.setdefault(
            (r.dataset, r.language),
            LanguageLine(r.dataset, r.language, r.tier, r.is_source, r.estimate.baseline_mean, {}),
        )
        line.by_method[r.method] = r.estimate
    return list(lines.values())


def experiment_view(overview: ExperimentOverview) -> dict[str, Any]:
    report = overview.report
    progress = overview.progress
    return {
        "experiment": overview.experiment,
        "progress": progress,
        "done": progress.finished / progress.total if progress.total else 0.0,
        "report": report,
        "report_problem": overview.report_problem,
        "verdict_rows": verdict_rows(report) if report else {},
        "language_lines": language_lines(report) if report else [],
        "aggregate_titles": AGGREGATE_TITLES,
    }
