"""What the run and compare pages show, built once for the owner's page and for a shared link.

Each function turns what a service returned into the template context (figures included); the
routes only add who is looking (owner or visitor) and where the export links point.
"""

from __future__ import annotations

from typing import Any

from backend.compare import cell_index, compare_languages, group_labels
from backend.figures.compare_figures import delta_bars, grouped_bars, groups_heatmap, tier_bars
from backend.figures.run_figures import (
    display_order,
    generalized_heatmap,
    language_bars,
    loss_curve,
    task_scores,
)
from backend.figures.style import TIER_ORDER
from backend.schemas import CompareResult
from backend.services.runs import RunDetails
from worker.training.config import METHOD_PARAMS
from worker.training.results import ACTIVE_STATUSES


def config_rows(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The settings that matter for this run, flattened: off stages and other methods' parameters left out."""
    method = (config.get("robust") or {}).get("method", "none")
    rows: list[tuple[str, str]] = []
    for key in ("task", "model", "source_language"):
        rows.append((key, str(config.get(key, ""))))
    for section in ("data", "intermediate", "robust", "train", "eval"):
        if section not in config:  # a partial config (an MLflow run's): not given is not "off"
            continue
        values = config[section]
        if values is None:
            rows.append((section, "off"))
            continue
        for name, value in values.items():
            if section == "robust" and name != "method" and name not in METHOD_PARAMS.get(method, ()):
                continue
            shown = (
                "default"
                if value is None
                else ", ".join(map(str, value))
                if isinstance(value, list)
                else value
            )
            rows.append((f"{section}.{name}", str(shown) if shown != "" else "–"))
    return rows


def run_view(details: RunDetails) -> dict[str, Any]:
    run, scores = details.run, details.scores
    source = str(run.config.get("source_language", "en"))
    accuracy = task_scores(scores, "accuracy")
    rows = display_order(accuracy, source)
    summary = run.summary or {}
    generalized = summary.get("generalized")
    return {
        "run": run,
        "scores": rows,
        "other_scores": [s for s in scores if s.metric != "accuracy"],
        "source": source,
        "summary": summary,
        "tiers": [t for t in TIER_ORDER if (summary.get("by_resource_tier") or {}).get(t) is not None],
        "bars": language_bars(scores, source) if accuracy else None,
        "loss": loss_curve(details.history),
        "heatmap": generalized_heatmap(
            generalized["languages"], generalized["accuracy"], generalized.get("dataset", run.task)
        )
        if isinstance(generalized, dict) and generalized.get("languages")
        else None,
        "active": run.status in ACTIVE_STATUSES,
        "queue_note": details.queue_note,
        "max_attempts": details.max_attempts,
        "config_rows": config_rows(run.config),
        "logged": details.logged,
    }


def _best(values: list[float | None]) -> float | None:
    """The highest value, or None when there is nothing to single out (fewer than two distinct values)."""
    present = [v for v in values if v is not None]
    return max(present) if len({round(v, 6) for v in present}) > 1 else None


def compare_view(result: CompareResult) -> dict[str, Any]:
    cells = cell_index(result)
    order = compare_languages(result)
    groups = result.groups
    best = {
        lang: _best([cells[(g.key, lang)].mean if (g.key, lang) in cells else None for g in groups])
        for lang in order
    }
    averages = result.tier_averages
    tiers = [t for t in TIER_ORDER if any(averages.get(g.key, {}).get(t) is not None for g in groups)]
    best_tier = {t: _best([result.tier_averages.get(g.key, {}).get(t) for g in groups]) for t in tiers}
    best_avg = _best([result.average.get(g.key) for g in groups])
    return {
        "result": result,
        "labels": group_labels(result),
        "order": order,
        "cells": cells,
        "best": best,
        "tiers": tiers,
        "best_tier": best_tier,
        "best_avg": best_avg,
        "bars": grouped_bars(result),
        "deltas": delta_bars(result),
        "heatmap": groups_heatmap(result),
        "tier_chart": tier_bars(result),
        "multi_seed": any(len(g.seeds) > 1 for g in result.groups),
    }
