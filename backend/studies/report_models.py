"""The study report's inputs and output, as pydantic models.

Why pydantic: the report is what `GET /api/experiments/{id}/report` returns as JSON, what the study
page and `xlt report` render, and what a test asserts on; one typed shape serves all of them.
Values are in the unit of the stored scores (accuracy 0-1), deltas are method minus baseline; the
renderers print percentage points. A transfer-gap delta below zero is an improvement.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.studies.seed_statistics import DeltaInterval, Design
from backend.studies.tiers import Aggregate
from worker.training.correctness import CorrectnessBits
from worker.training.languages import Tier

VerdictLabel = Literal["improves", "hurts", "no detectable change", "inconclusive"]


class StudyRun(BaseModel):
    """One run as the study sees it: what the store knows about it, reduced to plain values."""

    run_id: int
    method: str  # RunConfig.method_label, e.g. "baseline", "stsb+rs_rp"
    seed: int
    task: str  # the task dataset, e.g. "xnli"
    source_language: str = "en"
    status: str = "succeeded"
    warnings: list[str] = Field(default_factory=list)
    scores: dict[str, dict[str, float]] = Field(default_factory=dict)  # dataset → language → accuracy
    correctness: dict[str, dict[str, CorrectnessBits]] = Field(default_factory=dict)  # same keys


class Estimate(BaseModel):
    """Method vs baseline over seeds: means, delta, interval, p-value (None where not computable)."""

    design: Design
    method_mean: float | None
    baseline_mean: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_method: int
    n_baseline: int
    n_pairs: int
    reason: str | None = None

    @classmethod
    def of(cls, interval: DeltaInterval, method_mean: float | None, baseline_mean: float | None) -> Estimate:
        return cls(
            design=interval.design,
            method_mean=method_mean,
            baseline_mean=baseline_mean,
            delta=interval.delta,
            ci_low=interval.ci_low,
            ci_high=interval.ci_high,
            p_value=interval.p_value,
            n_method=interval.n_method,
            n_baseline=interval.n_baseline,
            n_pairs=interval.n_pairs,
            reason=interval.reason,
        )

    @property
    def n_seeds(self) -> int:
        """Seeds behind the comparison: pairs when paired, the smaller side when unpaired."""
        return self.n_pairs if self.design == "paired" else min(self.n_method, self.n_baseline)


class LanguageRow(BaseModel):
    """One method vs the baseline on one (dataset, language): descriptive, not Holm-corrected."""

    method: str
    dataset: str
    language: str
    tier: Tier
    is_source: bool
    estimate: Estimate


class AggregateRow(BaseModel):
    """One method vs the baseline on a tier mean or the transfer gap, with the Holm-adjusted p."""

    method: str
    aggregate: Aggregate
    cells: list[str]  # "dataset/language" cells the aggregate reads
    estimate: Estimate
    p_holm: float | None = None


class ItemTest(BaseModel):
    """Item-level evidence on the same test items: a paired bootstrap (p Holm-adjusted over the
    study's bootstrap tests) or, with one run per side, McNemar's test as a cross-check."""

    method: str
    aggregate: Aggregate
    test: Literal["paired_bootstrap", "mcnemar"]
    cells: list[str]
    method_runs: int
    baseline_runs: int
    n_items: int
    delta: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float
    p_holm: float | None = None
    p_mid: float | None = None  # McNemar mid-p
    method_only: int | None = None  # McNemar: items only the method got right
    baseline_only: int | None = None  # McNemar: items only the baseline got right
    n_resamples: int | None = None


class Verdict(BaseModel):
    """The answer for one method × aggregate: a machine label, its reason and a plain sentence;
    item-level evidence, when present, separately labelled so it is never read as the seed verdict."""

    method: str
    aggregate: Aggregate
    label: VerdictLabel
    reason: str
    sentence: str
    item_label: VerdictLabel | None = None
    item_sentence: str | None = None


class ExcludedRun(BaseModel):
    run_id: int
    method: str
    seed: int
    reason: str


class StudyReport(BaseModel):
    """Everything a reader needs to judge the study: the numbers, the verdicts and the rules."""

    task: str
    source_language: str
    baseline_method: str
    methods: list[str]  # compared against the baseline, in order of first appearance
    seeds: dict[str, list[int]]  # method (baseline included) → seeds of its included runs
    alpha: float
    confidence: float
    min_seeds: int
    n_resamples: int  # seed-level bootstrap (unpaired design only)
    item_resamples: int  # item-level paired bootstrap
    bootstrap_seed: int
    rules: list[str]
    excluded: list[ExcludedRun] = Field(default_factory=list)
    languages: list[LanguageRow] = Field(default_factory=list)
    aggregates: list[AggregateRow] = Field(default_factory=list)
    item_tests: list[ItemTest] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def verdict(self, method: str, aggregate: Aggregate) -> Verdict:
        return next(v for v in self.verdicts if v.method == method and v.aggregate == aggregate)
