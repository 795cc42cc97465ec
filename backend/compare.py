"""Comparison of runs grouped by everything but the seed: mean, std and n per language, deltas
against a baseline group, averages per resource tier. Pure functions over what the store returns.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from backend.schemas import CompareCell, CompareGroup, CompareResult, RunOut
from worker.training.languages import DATASET_LANGUAGES, TIERS, tier


def shared_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config without what differs between seeds of one group (train.seed, name)."""
    out = {k: v for k, v in config.items() if k != "name"}
    out["train"] = {k: v for k, v in (config.get("train") or {}).items() if k != "seed"}
    return out


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _labels(configs: list[dict[str, Any]], runs: list[RunOut]) -> list[str]:
    """'xnli · model · method', plus the fields that tell groups apart when that is ambiguous."""
    base = [f"{r.task} · {r.model} · {r.method}" for r in runs]
    flats = [_flatten(c) for c in configs]
    labels = []
    for i, label in enumerate(base):
        clashes = [j for j, other in enumerate(base) if other == label and j != i]
        if clashes:
            differing = sorted(
                {
                    k
                    for j in clashes
                    for k in set(flats[i]) | set(flats[j])
                    if flats[i].get(k) != flats[j].get(k)
                }
            )
            label += " · " + ", ".join(f"{k}={flats[i].get(k)}" for k in differing)
        labels.append(label)
    return labels


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def build_compare(
    runs: list[RunOut], scores: list[tuple[int, str, str, float]], metric: str, baseline: str | None
) -> CompareResult:
    """`baseline` is a group key or 'run:<id>' / '<id>' naming a run of the baseline group."""
    groups: dict[str, list[RunOut]] = {}
    shared: dict[str, dict[str, Any]] = {}
    for run in runs:
        key = json.dumps(shared_config(run.config), sort_keys=True)
        groups.setdefault(key, []).append(run)
        shared[key] = shared_config(run.config)
    keys = list(groups)
    labels = dict(zip(keys, _labels([shared[k] for k in keys], [groups[k][0] for k in keys]), strict=True))
    group_of_run = {run.id: labels[k] for k in keys for run in groups[k]}

    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (group, dataset, language)
    for run_id, dataset, language, value in scores:
        values[(group_of_run[run_id], dataset, language)].append(value)

    baseline_label = None
    if baseline:
        wanted = baseline.removeprefix("run:")
        if wanted.isdigit():
            baseline_label = group_of_run.get(int(wanted))
        elif baseline in labels.values():
            baseline_label = baseline

    stats: dict[tuple[str, str, str], tuple[float, float, int]] = {}
    for cell_key, vals in values.items():
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        stats[cell_key] = (sum(vals) / len(vals), std, len(vals))

    cells = []
    for (group, dataset, language), (mean, std, n) in stats.items():
        base = stats.get((baseline_label, dataset, language)) if baseline_label else None
        delta = mean - base[0] if base else None
        cells.append(
            CompareCell(group=group, dataset=dataset, language=language, mean=mean, std=std, n=n, delta=delta)
        )

    # Column order: the tasks' languages in benchmark order, then extra datasets'.
    tasks = list(dict.fromkeys(r.task for r in runs))
    present = {(c.dataset, c.language) for c in cells}
    order: list[str] = []
    for dataset in tasks + sorted({d for d, _ in present} - set(tasks)):
        for lang in DATASET_LANGUAGES.get(dataset, tuple(sorted(lg for d, lg in present if d == dataset))):
            if (dataset, lang) in present and lang not in order:
                order.append(lang)
    cells.sort(
        key=lambda c: (list(labels.values()).index(c.group), c.dataset not in tasks, order.index(c.language))
    )

    tier_averages: dict[str, dict[str, float | None]] = {}
    average: dict[str, float | None] = {}
    for k in keys:
        label, task = labels[k], groups[k][0].task
        own = [c for c in cells if c.group == label and c.dataset == task]
        average[label] = _mean([c.mean for c in own])
        tier_averages[label] = {t: _mean([c.mean for c in own if tier(c.language) == t]) for t in TIERS}

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
