"""Shared look of every chart: tier colours, language labels, the order languages are shown in.

Languages are shown source first, then by resource tier (high → mid → low, Joshi et al. 2020),
keeping the benchmark's order inside a tier, so that "how does transfer degrade with resources"
reads left to right on every chart.
"""

from __future__ import annotations

from collections.abc import Iterable

from worker.training.languages import Tier, language

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
TIER_COLOURS: dict[str, str] = {"high": "#0072B2", "mid": "#009E73", "low": "#D55E00"}
TIER_LABELS: dict[str, str] = {
    "high": "High-resource (class 4–5)",
    "mid": "Mid-resource (class 3)",
    "low": "Low-resource (class 0–2)",
}
TIER_SHORT: dict[str, str] = {"high": "High", "mid": "Mid", "low": "Low"}
TIER_CLASSES: dict[str, str] = {"high": "class 4–5", "mid": "class 3", "low": "class 0–2"}
TIER_ORDER: tuple[Tier, ...] = ("high", "mid", "low")
# Colours for groups (methods) in comparisons; tier colours are kept for languages.
GROUP_COLOURS: tuple[str, ...] = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#8C8C8C",
    "#CCB974",
    "#64B5CD",
)
DATASET_NAMES: dict[str, str] = {
    "xnli": "XNLI",
    "pawsx": "PAWS-X",
    "americasnli": "AmericasNLI",
    "stsb": "STS-B",
}
# How every chart is drawn (charts.js applies it too, whatever a figure says): plotly's modebar keeps
# zoom, pan and PNG download, and never offers "Edit in Chart Studio" / "Share chart": nothing leaves
# the server for Plotly's cloud.
PLOTLY_CONFIG: dict[str, object] = {
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "lasso2d", "select2d", "autoScale2d"],
}
FONT = {
    "family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "size": 13,
    "color": "#1f2933",
}


def language_name(code: str) -> str:
    return language(code).name


def language_label(code: str) -> str:
    """'Swahili (sw)': the full name a reader recognises plus the code papers use."""
    name = language(code).name
    return code if name == code else f"{name} ({code})"


def tick_label(code: str) -> str:
    """Two-line axis tick: name above, code below, so 15–25 languages fit without rotating much."""
    name = language(code).name
    return code if name == code else f"{name}<br><span style='color:#6b7280'>{code}</span>"


def ordered_languages(codes: Iterable[str], source: str | None = None) -> list[str]:
    """Unique codes, source first, then high, mid, low tier; benchmark order kept inside a tier."""
    seen: list[str] = []
    for code in codes:
        if code not in seen:
            seen.append(code)
    rest = [c for c in seen if c != source]
    rest.sort(key=lambda c: TIER_ORDER.index(language(c).tier))
    return ([source] if source in seen else []) + rest


def group_colour(index: int) -> str:
    return GROUP_COLOURS[index % len(GROUP_COLOURS)]


def percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100.0, 2)


def base_layout(title: str | None = None, height: int = 420) -> dict:
    layout: dict = {
        "font": FONT,
        "height": height,
        "margin": {"l": 64, "r": 24, "t": 56 if title else 24, "b": 64},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "hoverlabel": {"font": {"size": 12}},
    }
    if title:
        layout["title"] = {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}}
    return layout


def placeholder_note(text: str) -> dict:
    """A centred grey message for a chart that has nothing to draw yet."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 14, "color": "#6b7280"},
    }


def per_language_legend_and_margin(n_languages: int) -> dict:
    """Legend below the rotated language ticks, and the bottom margin they need."""
    wide = n_languages > 16
    return {
        "legend": {"orientation": "h", "x": 0, "y": -0.32 if wide else -0.22, "yanchor": "top"},
        "margin": {"l": 64, "r": 24, "t": 36, "b": 160 if wide else 120},
    }
