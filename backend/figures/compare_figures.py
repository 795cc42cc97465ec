"""Figures of a comparison: grouped per-language bars (mean ± std over seeds), deltas against the
baseline group, a groups × languages heatmap, and averages per resource tier.

Pure functions of a `CompareResult`; languages are ordered source, high, mid, low and their tick
labels are coloured by tier, with shaded tier bands behind the bars.
"""

from __future__ import annotations

import html
from typing import Any

from backend.compare import cell_index, compare_languages, group_labels, source_language
from backend.figures.style import (
    PLOTLY_CONFIG,
    TIER_CLASSES,
    TIER_COLOURS,
    TIER_ORDER,
    TIER_SHORT,
    base_layout,
    group_colour,
    language_label,
    per_language_legend_and_margin,
    percent,
    placeholder_note,
)
from backend.schemas import CompareCell, CompareResult
from worker.training.languages import language

Figure = dict[str, Any]


def chart_labels(result: CompareResult) -> dict[str, str]:
    """Group labels for Plotly, which reads a subset of HTML in text: a model path like '<x>' stays text."""
    return {key: html.escape(label, quote=False) for key, label in group_labels(result).items()}


def _tier_ticks(order: list[str], source: str) -> dict[str, Any]:
    text = []
    for code in order:
        name = language(code).name
        colour = "#111827" if code == source else TIER_COLOURS[language(code).tier]
        sub = "source" if code == source else code
        text.append(
            f"<span style='color:{colour}'><b>{name}</b></span><br><span style='color:#6b7280'>{sub}</span>"
        )
    return {
        "tickmode": "array",
        "tickvals": order,
        "ticktext": text,
        "type": "category",
        "categoryorder": "array",
        "categoryarray": order,
        "tickangle": 0 if len(order) <= 16 else -45,
    }


def _tier_bands(order: list[str], source: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Light background bands with a label over each run of same-tier languages (source excluded)."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    start = 0
    while start < len(order):
        code = order[start]
        tier = "source" if code == source else language(code).tier
        end = start
        while end + 1 < len(order) and order[end + 1] != source and language(order[end + 1]).tier == tier:
            end += 1
        if tier != "source":
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": start - 0.5,
                    "x1": end + 0.5,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": TIER_COLOURS[tier],
                    "opacity": 0.07,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
            notes.append(
                {
                    "xref": "x",
                    "yref": "paper",
                    "x": (start + end) / 2,
                    "y": 1.0,
                    "yanchor": "bottom",
                    "showarrow": False,
                    "text": TIER_SHORT[tier] + "-resource",
                    "font": {"size": 11, "color": TIER_COLOURS[tier]},
                }
            )
        start = end + 1
    return shapes, notes


def grouped_bars(result: CompareResult) -> Figure:
    """Per-language mean over seeds with ± std error bars, one colour per group."""
    order = compare_languages(result)
    source = source_language(result)
    cells = cell_index(result)
    labels = chart_labels(result)
    traces = []
    for i, group in enumerate(result.groups):
        present = [c for c in order if (group.key, c) in cells]
        traces.append(
            {
                "type": "bar",
                "name": f"{labels[group.key]} · n={len(group.seeds)}",
                "x": present,
                "y": [percent(cells[(group.key, c)].mean) for c in present],
                "error_y": {
                    "type": "data",
                    "array": [percent(cells[(group.key, c)].std) for c in present],
                    "visible": True,
                    "thickness": 1.5,
                    "width": 3,
                    "color": "#111827",
                },
                "marker": {"color": group_colour(i)},
                "customdata": [[language_label(c), cells[(group.key, c)].n] for c in present],
                "hovertemplate": "%{customdata[0]}<br>%{y:.1f} ± %{error_y.array:.1f} (n=%{customdata[1]})"
                + "<extra>"
                + labels[group.key]
                + "</extra>",
            }
        )
    shapes, notes = _tier_bands(order, source)
    layout = base_layout(height=460)
    layout.update(
        {
            "barmode": "group",
            "bargap": 0.2 if len(order) > 6 else 0.45,
            "bargroupgap": 0.05,
            "xaxis": _tier_ticks(order, source),
            "yaxis": {
                "title": {"text": f"{result.metric.capitalize()} (%), mean ± std over seeds"},
                "gridcolor": "#e5e7eb",
                "rangemode": "tozero",
            },
            "shapes": shapes,
            "annotations": notes,
            **per_language_legend_and_margin(len(order)),
        }
    )
    return {"data": traces, "layout": layout, "config": PLOTLY_CONFIG}


def _ci_text(cell: CompareCell) -> str:
    if cell.ci_low is None or cell.ci_high is None:
        return "none (one seed a side)"
    return f"[{100 * cell.ci_low:+.1f}, {100 * cell.ci_high:+.1f}]"


def delta_bars(result: CompareResult) -> Figure:
    """Difference to the baseline group per language, in percentage points (bars above/below zero),
    with the 95% interval over seeds as error bars; bars whose interval includes 0 are faint."""
    order = compare_languages(result)
    source = source_language(result)
    cells = cell_index(result)
    labels = chart_labels(result)
    traces = []
    others = sum(1 for g in result.groups if g.key != result.baseline)
    label_bars = others * len(order) <= 30  # beyond that, values would collide: hover and the table have them
    for i, group in enumerate(result.groups):
        if result.baseline is None or group.key == result.baseline:
            continue
        present = [c for c in order if (group.key, c) in cells and cells[(group.key, c)].delta is not None]
        shown = [cells[(group.key, c)] for c in present]
        deltas = [100 * (c.delta or 0.0) for c in shown]
        # 95% interval as error bars; a bar whose interval includes 0 (or has none) is drawn faint.
        above = [
            round(100 * (c.ci_high - (c.delta or 0.0)), 2) if c.ci_high is not None else 0 for c in shown
        ]
        below = [round(100 * ((c.delta or 0.0) - c.ci_low), 2) if c.ci_low is not None else 0 for c in shown]
        traces.append(
            {
                "type": "bar",
                "name": labels[group.key],
                "x": present,
                "y": [round(d, 2) for d in deltas],
                "error_y": {"type": "data", "symmetric": False, "array": above, "arrayminus": below},
                "marker": {
                    "color": group_colour(i),
                    "opacity": [0.35 if c.delta_is_noise else 1.0 for c in shown],
                },
                "text": [f"{d:+.1f}" for d in deltas] if label_bars else None,
                "textposition": "outside",
                "textfont": {"size": 10},
                "cliponaxis": False,
                "customdata": [
                    [language_label(c), _ci_text(cell)] for c, cell in zip(present, shown, strict=True)
                ],
                "hovertemplate": "%{customdata[0]}<br>%{y:+.2f} pp vs baseline, 95% CI "
                + "%{customdata[1]}<extra>"
                + labels[group.key]
                + "</extra>",
            }
        )
    shapes, notes = _tier_bands(order, source)
    shapes.append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": 0,
            "y1": 0,
            "line": {"color": "#111827", "width": 1.5},
        }
    )
    layout = base_layout(height=400)
    baseline = labels.get(result.baseline or "", "").removesuffix(" (baseline)")
    layout.update(
        {
            "barmode": "group",
            "showlegend": True,
            "xaxis": _tier_ticks(order, source),
            "yaxis": {
                "title": {"text": f"Δ vs {baseline or 'baseline'} (pp)"},
                "gridcolor": "#e5e7eb",
                "zeroline": False,
            },
            "shapes": shapes,
            "annotations": notes,
            **per_language_legend_and_margin(len(order)),
        }
    )
    if result.baseline is None or not traces:
        layout["annotations"] = notes + [
            placeholder_note("Choose a baseline group (and at least one other) to see deltas")
        ]
    return {"data": traces, "layout": layout, "config": PLOTLY_CONFIG}


def groups_heatmap(result: CompareResult) -> Figure:
    """Groups (rows) × languages (columns), mean over seeds, value printed in each cell."""
    order = compare_languages(result)
    cells = cell_index(result)
    labels = chart_labels(result)
    z = [
        [percent(cells[(g.key, c)].mean) if (g.key, c) in cells else None for c in order]
        for g in result.groups
    ]
    trace = {
        "type": "heatmap",
        "x": [language_label(c) for c in order],
        "y": [labels[g.key] for g in result.groups],
        "z": z,
        "colorscale": "Viridis",
        "colorbar": {"title": {"text": "%"}, "thickness": 14},
        "texttemplate": "%{z:.1f}",
        "textfont": {"size": 11},
        "xgap": 2,
        "ygap": 2,
        "hovertemplate": "%{y}<br>%{x}: %{z:.1f}%<extra></extra>",
    }
    longest = max((len(labels[g.key]) for g in result.groups), default=8)
    layout = base_layout(height=max(200, 44 * len(result.groups) + (90 if len(order) <= 8 else 170)))
    layout.update(
        {
            "xaxis": {"tickangle": 0 if len(order) <= 8 else -40, "side": "bottom"},
            "yaxis": {"autorange": "reversed", "automargin": True},
            "margin": {
                "l": min(320, 12 + 7 * longest),
                "r": 24,
                "t": 24,
                "b": 60 if len(order) <= 8 else 140,
            },
        }
    )
    return {"data": [trace], "layout": layout, "config": PLOTLY_CONFIG}


def tier_bars(result: CompareResult) -> Figure:
    """Mean accuracy per resource tier (and overall), one bar per group."""
    labels = chart_labels(result)
    groups = result.groups
    tiers = [
        t for t in TIER_ORDER if any(result.tier_averages.get(g.key, {}).get(t) is not None for g in groups)
    ]
    categories = [TIER_SHORT[t] for t in tiers] + ["All"]
    ticks = [
        f"<span style='color:{TIER_COLOURS[t]}'><b>{TIER_SHORT[t]}</b></span><br>{TIER_CLASSES[t]}"
        for t in tiers
    ]
    ticks.append("<b>All</b><br>evaluated languages")
    traces = []
    for i, group in enumerate(groups):
        values = [percent(result.tier_averages.get(group.key, {}).get(t)) for t in tiers]
        values.append(percent(result.average.get(group.key)))
        traces.append(
            {
                "type": "bar",
                "name": labels[group.key],
                "x": categories,
                "y": values,
                "marker": {"color": group_colour(i)},
                "text": [f"{v:.1f}" if v is not None else "" for v in values] if len(groups) <= 6 else None,
                "textposition": "outside",
                "textfont": {"size": 11 if len(groups) <= 4 else 9},
                "cliponaxis": False,
                "hovertemplate": "%{x}<br>%{y:.1f}%<extra>" + labels[group.key] + "</extra>",
            }
        )
    layout = base_layout(height=380)
    layout.update(
        {
            "barmode": "group",
            "bargap": 0.3,
            "xaxis": {
                "type": "category",
                "tickmode": "array",
                "tickvals": categories,
                "ticktext": ticks,
                "title": {"text": "Resource tier (Joshi et al. 2020 classes)"},
            },
            "yaxis": {
                "title": {"text": f"Mean {result.metric} (%)"},
                "gridcolor": "#e5e7eb",
                "rangemode": "tozero",
            },
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "margin": {"l": 64, "r": 24, "t": 48, "b": 80},
        }
    )
    return {"data": traces, "layout": layout, "config": PLOTLY_CONFIG}
