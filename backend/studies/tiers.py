"""Resource-tier averages and the transfer gap of one run, written as weights over score cells.

Why weights: the seed-level table (a weighted sum of a run's scores) and the item-level bootstrap
(a weighted sum of per-language accuracy differences) must aggregate exactly the same way, so both
take their weights from here. A cell is one (dataset, language) evaluation.

Rules (ARCHITECTURE.md, issue 17): a tier's score is the plain mean over its *target* languages
across every evaluated dataset (XNLI sw and AmericasNLI's languages are all "low"); the source
language is never in a tier, whatever dataset it was evaluated on. The transfer gap is the source
language's score minus the mean of the target languages of the task dataset only (the benchmark
the model was trained for), as XTREME reports it; lower is better. The task average is the plain
mean over every language of the task dataset, the source included: the "XNLI average" papers
report (XTREME's tables), so a claimed +1.6 average has a row of its own with an interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from worker.training.languages import DATASET_LANGUAGES, TIERS, tier

Cell = tuple[str, str]  # (dataset, language)
Aggregate = Literal["low", "mid", "high", "transfer_gap", "task_average"]
AGGREGATES: tuple[Aggregate, ...] = (*TIERS, "transfer_gap", "task_average")


def aggregate_weights(
    aggregate: Aggregate, cells: Iterable[Cell], source_language: str, task_dataset: str
) -> dict[Cell, float]:
    """The cells an aggregate reads and the weight of each (a tier: 1/L over its L target cells;
    the gap: +1 for the task dataset's source cell, −1/L over its L target cells; the task average:
    1/L over the task dataset's L cells, source included). Empty when the
    aggregate is undefined for these cells (no language of the tier; no source or no target)."""
    ordered = list(dict.fromkeys(cells))
    if aggregate == "task_average":
        everything = [c for c in ordered if c[0] == task_dataset]
        return {c: 1.0 / len(everything) for c in everything}
    if aggregate == "transfer_gap":
        targets = [c for c in ordered if c[0] == task_dataset and c[1] != source_language]
        source = (task_dataset, source_language)
        if source not in ordered or not targets:
            return {}
        return {source: 1.0} | {c: -1.0 / len(targets) for c in targets}
    members = [c for c in ordered if c[1] != source_language and tier(c[1]) == aggregate]
    return {c: 1.0 / len(members) for c in members}


def cell_order(cells: Iterable[Cell], task_dataset: str) -> list[Cell]:
    """Cells as tables print them: the task dataset first, then the other datasets in the order of
    the language table, each dataset's languages in the order its benchmark publishes them."""
    datasets = list(DATASET_LANGUAGES)

    def key(cell: Cell) -> tuple[bool, int, str, int, str]:
        dataset, lang = cell
        langs = DATASET_LANGUAGES.get(dataset, ())
        rank = datasets.index(dataset) if dataset in datasets else len(datasets)
        return (
            dataset != task_dataset,
            rank,
            dataset,
            langs.index(lang) if lang in langs else len(langs),
            lang,
        )

    return sorted(set(cells), key=key)


def aggregate_score(
    scores: Mapping[str, Mapping[str, float]],
    aggregate: Aggregate,
    source_language: str,
    task_dataset: str,
    cells: Iterable[Cell] | None = None,
) -> float | None:
    """One run's tier mean or transfer gap from its scores (dataset → language → value), over
    `cells` when given (the cells every compared run has, so runs are averaged over the same
    languages) or over all of its own cells. None when undefined; NaN when a read cell is NaN."""
    own = [(d, lang) for d, by_lang in scores.items() for lang in by_lang]
    own_set = set(own)
    chosen = own if cells is None else [c for c in cells if c in own_set]
    weights = aggregate_weights(aggregate, chosen, source_language, task_dataset)
    if not weights:
        return None
    return sum(w * scores[d][lang] for (d, lang), w in weights.items())


def aggregate_scores(
    scores: Mapping[str, Mapping[str, float]],
    source_language: str,
    task_dataset: str,
    cells: Iterable[Cell] | None = None,
) -> dict[Aggregate, float | None]:
    """Low, mid and high tier means over target languages and the transfer gap, for one run."""
    chosen = None if cells is None else list(cells)
    return {a: aggregate_score(scores, a, source_language, task_dataset, chosen) for a in AGGREGATES}
