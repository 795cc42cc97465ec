"""Figures of one run: per-language accuracy bars, the loss curve, the generalized L×L heatmap.

Pure functions: plain data in (the store's pydantic objects), a Plotly figure dict out. The page
embeds the dict as JSON and plotly.js draws it; tests check the dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.figures.style import (
    DATASET_NAMES,
    PLOTLY_CONFIG,
    TIER_COLOURS,
    TIER_LABELS,
    TIER_ORDER,
    base_layout,
    language_label,
    ordered_languages,
    percent,
    placeholder_note,
    tick_label,
)
from backend.schemas import MetricSeries, ScoreOut
from worker.training.languages import DATASET_LANGUAGES, language

Figure = dict[str, Any]

STAGE_LABELS = {"intermediate": "STS-B stage (MSE loss)", "task": "Task stage (cross-entropy loss)"}


def task_scores(scores: Sequence[ScoreOut], metric: str = "accuracy") -> list[ScoreOut]:
    """The scores a bar chart shows: one metric, first split seen per (dataset, language)."""
    picked: dict[tuple[str, str], ScoreOut] = {}
    for score in scores:
        if score.metric == metric:
            picked.setdefault((score.dataset, score.language), score)
    return list(picked.values())


def display_order(scores: Sequence[ScoreOut], source_language: str) -> list[ScoreOut]:
    """Scores in chart order: the task's dataset before extra ones (AmericasNLI), then source first and
    high → mid → low tier inside each dataset, benchmark order within a tier."""
    main = next((s.dataset for s in scores if s.language == source_language), None)
    datasets = list(
        dict.fromkeys([main] + [s.dataset for s in scores] if main else [s.dataset for s in scores])
    )
    out: list[ScoreOut] = []
    for dataset in datasets:
        rows = {s.language: s for s in scores if s.dataset == dataset}
        bench = list(DATASET_LANGUAGES.get(dataset, ()))
        codes = sorted(rows, key=lambda c: bench.index(c) if c in bench else len(bench))
        out.extend(rows[c] for c in ordered_languages(codes, source_language))
    return out


def language_bars(
    scores: Sequence[ScoreOut], source_language: str = "en", metric: str = "accuracy"
) -> Figure:
    """One bar per evaluated language, coloured by resource tier, with a dashed line at the target mean."""
    rows = display_order(task_scores(scores, metric), source_language)
    by_code = {s.language: s for s in rows}
    order = [s.language for s in rows]
    traces: list[dict[str, Any]] = []
    groups = [
        (f"Source: {language_label(source_language)}", [source_language], language(source_language).tier)
    ]
    groups += [
        (TIER_LABELS[t], [c for c in order if c != source_language and language(c).tier == t], t)
        for t in TIER_ORDER
    ]
    for name, codes, tier in groups:
        codes = [c for c in codes if c in by_code]
        if not codes:
            continue
        is_source = codes == [source_language]
        traces.append(
            {
                "type": "bar",
                "name": name,
                "x": codes,
                "y": [percent(by_code[c].value) for c in codes],
                "marker": {
                    "color": TIER_COLOURS[tier],
                    "line": {"color": "#111827", "width": 2.5 if is_source else 0},
                },
                "text": [f"{100 * by_code[c].value:.1f}" for c in codes],
                "textposition": "outside",
                "textfont": {"size": 11},
                "cliponaxis": False,
                "customdata": [[language_label(c), by_code[c].dataset, by_code[c].n] for c in codes],
                "hovertemplate": "%{customdata[0]}<br>%{customdata[1]} · "
                + metric
                + " %{y:.1f}% · n=%{customdata[2]}<extra>"
                + TIER_LABELS[tier]
                + "</extra>",
            }
        )
    layout = base_layout(height=440)
    layout.update(
        {
            "barmode": "overlay",
            "bargap": 0.25 if len(order) > 6 else 0.5,
            "xaxis": {
                "type": "category",
                "categoryorder": "array",
                "categoryarray": order,
                "tickmode": "array",
                "tickvals": order,
                "ticktext": [tick_label(c) for c in order],
                "tickangle": 0 if len(order) <= 16 else -45,
                "tickfont": {"size": 13 if len(order) <= 10 else 11},
                "title": {"text": "Evaluation language"},
            },
            "yaxis": {
                "title": {"text": f"{metric.capitalize()} (%)"},
                "range": [0, 105],
                "gridcolor": "#e5e7eb",
            },
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "margin": {"l": 64, "r": 24, "t": 48, "b": 96 if len(order) <= 16 else 130},
        }
    )
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for i in range(1, len(rows)):
        if rows[i].dataset != rows[i - 1].dataset:  # e.g. XNLI | AmericasNLI
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": i - 0.5,
                    "x1": i - 0.5,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#9ca3af", "width": 1, "dash": "dot"},
                }
            )
            notes.append(
                {
                    "xref": "x",
                    "yref": "paper",
                    "x": i - 0.5,
                    "y": 1,
                    "xanchor": "left",
                    "yanchor": "top",
                    "showarrow": False,
                    "text": " " + DATASET_NAMES.get(rows[i].dataset, rows[i].dataset),
                    "font": {"size": 11, "color": "#6b7280"},
                }
            )
    layout["shapes"], layout["annotations"] = shapes, notes
    targets = [by_code[c].value for c in order if c != source_language]
    if targets:
        mean = 100 * sum(targets) / len(targets)
        layout["shapes"] = shapes + [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": mean,
                "y1": mean,
                "line": {"color": "#374151", "width": 1.5, "dash": "dash"},
            }
        ]
        # legend-only entry for the dashed line, so its label never sits on top of a bar's value
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [None],
                "y": [None],
                "hoverinfo": "skip",
                "name": f"Mean over target languages: {mean:.1f}",
                "line": {"color": "#374151", "width": 1.5, "dash": "dash"},
            }
        )
    return {"data": traces, "layout": layout, "config": PLOTLY_CONFIG}


def loss_curve(series: Sequence[MetricSeries]) -> Figure:
    """Training loss against optimiser step, one line per stage; the STS-B stage (MSE) on its own axis."""
    losses = [s for s in series if s.name == "loss" and s.steps]
    stages = [s.stage for s in losses]
    two_axes = "intermediate" in stages and "task" in stages
    traces = []
    for s in losses:
        on_right = two_axes and s.stage == "intermediate"
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(s.steps) < 30 else "lines",
                "name": STAGE_LABELS.get(s.stage, s.stage),
                "x": list(s.steps),
                "y": list(s.values),
                "yaxis": "y2" if on_right else "y",
                "line": {"width": 2, "color": "#DD8452" if s.stage == "intermediate" else "#4C72B0"},
                "hovertemplate": "step %{x}<br>loss %{y:.4f}<extra>" + s.stage + "</extra>",
            }
        )
    layout = base_layout(height=320)
    layout.update(
        {
            "xaxis": {
                "title": {"text": "Optimiser step (per stage)"},
                "gridcolor": "#e5e7eb",
                "rangemode": "tozero",
            },
            "yaxis": {
                "title": {"text": "Task loss" if two_axes else "Training loss"},
                "gridcolor": "#e5e7eb",
            },
            "legend": {"orientation": "h", "x": 0, "y": 1.15},
            "margin": {"l": 64, "r": 64 if two_axes else 24, "t": 40, "b": 56},
        }
    )
    if two_axes:
        layout["yaxis2"] = {
            "title": {"text": "STS-B loss (MSE)"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        }
    if not traces:
        layout["annotations"] = [placeholder_note("No loss points yet")]
        layout["xaxis"]["visible"] = False
        layout["yaxis"]["visible"] = False
    return {"data": traces, "layout": layout, "config": PLOTLY_CONFIG}


def generalized_heatmap(
    languages: Sequence[str], accuracy: Sequence[Sequence[float]], dataset: str = "xnli"
) -> Figure:
    """Generalized setting (Huang et al.): sentence 1 in language i (rows), sentence 2 in language j."""
    labels = [language_label(c) for c in languages]
    z = [[percent(v) for v in row] for row in accuracy]
    n = len(languages)
    trace = {
        "type": "heatmap",
        "x": labels,
        "y": labels,
        "z": z,
        "colorscale": "Viridis",
        "colorbar": {"title": {"text": "Acc. (%)"}},
        "texttemplate": "%{z:.0f}" if n > 8 else "%{z:.1f}",
        "textfont": {"size": 10 if n > 8 else 12},
        "hovertemplate": "sentence 1: %{y}<br>sentence 2: %{x}<br>accuracy %{z:.1f}%<extra></extra>",
    }
    side = max(360, 34 * n + 160)
    layout = base_layout(height=side)
    layout.update(
        {
            "xaxis": {
                "title": {"text": f"Sentence 2 language ({dataset} hypothesis)"},
                "tickangle": -45,
                "side": "bottom",
            },
            "yaxis": {"title": {"text": "Sentence 1 language (premise)"}, "autorange": "reversed"},
            "margin": {"l": 150, "r": 24, "t": 24, "b": 150},
        }
    )
    return {"data": [trace], "layout": layout, "config": PLOTLY_CONFIG}
