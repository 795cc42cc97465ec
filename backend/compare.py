"""Comparison of runs grouped by everything but the seed: mean, std and n per language, deltas
against a baseline group with their 95% interval over seeds, averages per resource tier; and the
reading of a comparison that the pages, figures and exports share (cell lookup, column order, short
group labels).

A delta's interval comes from backend.studies.seed_statistics (compare_seeds_many), as in a report:
seed-paired Student-t when the groups share at least two seeds, otherwise a percentile bootstrap
(4,000 resamples). Pages colour a delta only when its interval excludes 0.

Pure functions over what the store returns; backend.services.compare fetches the inputs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import orjson

from backend.figures.style import ordered_languages
from backend.run_configs import flatten_config
from backend.schemas import CompareCell, CompareGroup, CompareResult
from backend.studies.seed_statistics import compare_seeds_many
from worker.training.languages import DATASET_LANGUAGES, TIERS, tier

DELTA_CONFIDENCE = 0.95
DELTA_RESAMPLES = 4_000  # bootstrap resamples for groups whose seeds do not pair


class RunLike(Protocol):
    """RunOut or backend.store.CompareRun: the fields grouping reads."""

    @property
    def id(self) -> int: ...
    @property
    def task(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def config(self) -> dict[str, Any]: ...


def shared_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config without what differs between seeds of one group (train.seed, name)."""
    out = {k: v for k, v in config.items() if k != "name"}
    out["train"] = {k: v for k, v in (config.get("train") or {}).items() if k != "seed"}
    return out


def _labels(configs: list[dict[str, Any]], runs: Sequence[RunLike]) -> list[str]:
    """'xnli · model · method', plus the fields that tell groups apart when that is ambiguous."""
    base = [f"{r.task} · {r.model} · {r.method}" for r in runs]
    flats: dict[int, dict[str, Any]] = {}  # flattened only where two groups share a label

    def flat(i: int) -> dict[str, Any]:
        if i not in flats:
            flats[i] = flatten_config(configs[i])
        return flats[i]

    labels = []
    for i, label in enumerate(base):
        clashes = [j for j, other in enumerate(base) if other == label and j != i]
        if clashes:
            differing = sorted(
                {k for j in clashes for k in set(flat(i)) | set(flat(j)) if flat(i).get(k) != flat(j).get(k)}
            )
            label += " · " + ", ".join(f"{k}={flat(i).get(k)}" for k in differing)
        labels.append(label)
    return labels


def pick_baseline(runs: Sequence[RunLike]) -> str | None:
    """The group of the first run trained without a method ('baseline'), else the first run's group."""
    plain = [r for r in runs if r.method == "baseline"]
    chosen = plain[0] if plain else (runs[0] if runs else None)
    return None if chosen is None else f"run:{chosen.id}"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _add_intervals(
    cells: list[CompareCell], by_seed: dict[tuple[str, str, str], dict[int, float]], baseline: str
) -> None:
    """Each delta's 95% interval over seeds, all cells in one batch (the paired ones vectorised);
    the bootstrap of unpaired groups draws from one generator seeded 0, cells in a fixed order, so
    the same runs always give the same intervals."""
    with_delta = [c for c in cells if c.delta is not None and c.group != baseline]
    intervals = compare_seeds_many(
        [
            (by_seed[(c.group, c.dataset, c.language)], by_seed[(baseline, c.dataset, c.language)])
            for c in with_delta
        ],
        np.random.default_rng(0),
        DELTA_RESAMPLES,
        DELTA_CONFIDENCE,
    )
    for cell, interval in zip(with_delta, intervals, strict=True):
        cell.ci_low, cell.ci_high = interval.ci_low, interval.ci_high


def _by_seed(
    runs: Sequence[RunLike], scores: list[tuple[int, str, str, float]], group_of_run: dict[int, str]
) -> dict[tuple[str, str, str], dict[int, float]]:
    """(group, dataset, language) → {seed: value}, for the deltas' intervals. A second run of one
    seed in a group keeps its value under a key no other group has (< 0)."""
    seed_of_run = {run.id: run.seed for run in runs}
    by_seed: dict[tuple[str, str, str], dict[int, float]] = defaultdict(dict)
    for run_id, dataset, language, value in scores:
        seeds = by_seed[(group_of_run[run_id], dataset, language)]
        seeds[seed_of_run[run_id] if seed_of_run[run_id] not in seeds else -len(seeds) - 1] = value
    return by_seed


def build_compare(
    runs: Sequence[RunLike], scores: list[tuple[int, str, str, float]], metric: str, baseline: str | None
) -> CompareResult:
    """`baseline` is a group key or 'run:<id>' / '<id>' naming a run of the baseline group."""
    groups: dict[bytes, list[RunLike]] = {}
    shared: dict[bytes, dict[str, Any]] = {}
    for run in runs:
        config = shared_config(run.config)
        key = orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
        groups.setdefault(key, []).append(run)
        shared[key] = config
    keys = list(groups)
    labels = dict(zip(keys, _labels([shared[k] for k in keys], [groups[k][0] for k in keys]), strict=True))
    group_of_run = {run.id: labels[k] for k in keys for run in groups[k]}

    baseline_label = None
    if baseline:
        wanted = baseline.removeprefix("run:")
        if wanted.isascii() and wanted.isdigit() and len(wanted) <= 10:  # not '²', not 2**70
            baseline_label = group_of_run.get(int(wanted))
        elif baseline in labels.values():
            baseline_label = baseline

    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (group, dataset, language)
    for run_id, dataset, language, value in scores:
        values[(group_of_run[run_id], dataset, language)].append(value)

    stats: dict[tuple[str, str, str], tuple[float, float, int]] = {}
    for cell_key, vals in values.items():
        n = len(vals)
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0  # sample std
        stats[cell_key] = (mean, std, n)

    cells = []
    for (group, dataset, language), (mean, std, n) in stats.items():
        base = stats.get((baseline_label, dataset, language)) if baseline_label else None
        delta = mean - base[0] if base else None
        cells.append(
            CompareCell(group=group, dataset=dataset, language=language, mean=mean, std=std, n=n, delta=delta)
        )
    if baseline_label:
        _add_intervals(cells, _by_seed(runs, scores, group_of_run), baseline_label)

    # Column order: the tasks' languages in benchmark order, then extra datasets'.
    tasks = list(dict.fromkeys(r.task for r in runs))
    present = {(c.dataset, c.language) for c in cells}
    order: list[str] = []
    for dataset in tasks + sorted({d for d, _ in present} - set(tasks)):
        for lang in DATASET_LANGUAGES.get(dataset, tuple(sorted(lg for d, lg in present if d == dataset))):
            if (dataset, lang) in present and lang not in order:
                order.append(lang)
    group_rank = {label: i for i, label in enumerate(labels.values())}
    column = {lang: i for i, lang in enumerate(order)}
    cells.sort(key=lambda c: (group_rank[c.group], c.dataset not in tasks, column[c.language]))

    tier_averages: dict[str, dict[str, float | None]] = {}
    average: dict[str, float | None] = {}
    task_of = {labels[k]: groups[k][0].task for k in keys}
    own: dict[str, list[CompareCell]] = defaultdict(list)  # each group's cells of its own task
    for c in cells:
        if c.dataset == task_of[c.group]:
            own[c.group].append(c)
    tier_of = {lang: tier(lang) for lang in order}
    for label in task_of:
        average[label] = _mean([c.mean for c in own[label]])
        tier_averages[label] = {
            t: _mean([c.mean for c in own[label] if tier_of[c.language] == t]) for t in TIERS
        }

    return CompareResult(
        metric=metric,
        baseline=baseline_label,
        groups=[
            CompareGroup(
                key=labels[k],
                run_ids=[r.id for r in groups[k]],
                seeds=[r.seed for r in groups[k]],
                config=shared[k],
            )
            for k in keys
        ],
        languages=order,
        cells=cells,
        tier_averages=tier_averages,
        average=average,
    )


# ── reading a comparison (pages, figures, exports) ───────────────────────────────────────────────


def source_language(result: CompareResult) -> str:
    for group in result.groups:
        source = group.config.get("source_language")
        if isinstance(source, str):
            return source
    return "en"


def compare_languages(result: CompareResult) -> list[str]:
    """Column order for charts and tables: source first, then high, mid, low tier."""
    return ordered_languages(result.languages, source_language(result))


def cell_index(result: CompareResult) -> dict[tuple[str, str], CompareCell]:
    """(group key, language) → cell; when a language occurs in two datasets the first wins."""
    index: dict[tuple[str, str], CompareCell] = {}
    for cell in result.cells:
        index.setdefault((cell.group, cell.language), cell)
    return index


def short_group_labels(keys: list[str], sep: str = " · ") -> dict[str, str]:
    """Drop the parts of group keys shared by every group: 'xnli · xlmr · rs_da' → 'rs_da'."""
    parts = [key.split(sep) for key in keys]
    if len(keys) < 2 or len({len(p) for p in parts}) != 1:
        return {key: key for key in keys}
    varying = [i for i in range(len(parts[0])) if len({p[i] for p in parts}) > 1]
    return {key: sep.join(p[i] for i in varying) or key for key, p in zip(keys, parts, strict=True)}


def group_labels(result: CompareResult) -> dict[str, str]:
    """Short labels for legends and rows; baseline marked. Not HTML-escaped (see `chart_labels`)."""
    labels = short_group_labels([g.key for g in result.groups])
    return {key: label + (" (baseline)" if key == result.baseline else "") for key, label in labels.items()}
