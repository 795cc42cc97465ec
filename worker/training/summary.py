"""A run's summary (macro average, resource-tier averages, transfer gap) derived from its scores.

Pure (no torch) and in a module of its own because two producers need the same arithmetic: the
trainer after evaluation, and the backend when it imports scores that were computed elsewhere
(XTREME / Robust-XLT result files, CSV tables). One function keeps the two from drifting.
"""

from __future__ import annotations

from collections.abc import Sequence

from worker.training.languages import TIERS, tier
from worker.training.results import Score, Summary


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(
    scores: Sequence[Score], dataset: str, source_language: str, metric: str = "accuracy"
) -> Summary:
    """Macro average over the task dataset's languages (the source included, as XTREME reports it),
    averages per resource tier, and the transfer gap (source score minus the mean over the task
    dataset's other languages; None without both).

    A tier's average is over its *target* languages only (never the source language: it is what
    transfer starts from, not a target) and over every evaluated dataset of the same metric, one
    value per (dataset, language): XNLI's Swahili and AmericasNLI's ten languages all count in
    "low". Regression sets (metric pearson/spearman) do not mix with accuracy."""
    main = {s.language: s.value for s in scores if s.dataset == dataset and s.metric == metric}
    cells = {(s.dataset, s.language): s.value for s in scores if s.metric == metric}
    by_tier: dict[str, float | None] = {
        t: _mean([v for (_, lang), v in cells.items() if lang != source_language and tier(lang) == t])
        for t in TIERS
    }
    targets = [v for lang, v in main.items() if lang != source_language]
    gap = None
    if source_language in main and targets:
        gap = main[source_language] - sum(targets) / len(targets)
    return Summary(average=_mean(list(main.values())), by_resource_tier=by_tier, transfer_gap=gap)
