"""Nothing leaves the server: no chart offers Plotly's cloud ("Share chart" / sendDataToCloud, "Edit in
Chart Studio"), neither in the figures the server builds nor in the one script that draws them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from backend.figures.compare_figures import delta_bars, grouped_bars, groups_heatmap, tier_bars
from backend.figures.run_figures import generalized_heatmap, language_bars, loss_curve
from backend.schemas import MetricSeries, ScoreOut
from bench.demo_runs import seed_runs
from tests.factories import make_compare

STATIC_JS = Path(__file__).resolve().parents[3] / "frontend" / "static" / "js"


def _figures() -> list[dict]:
    scores = [
        ScoreOut(dataset="xnli", language=c, split="test", metric="accuracy", value=0.6, n=9)
        for c in ("en", "sw")
    ]
    series = [MetricSeries(stage="task", name="loss", steps=[1, 2], values=[1.0, 0.9])]
    result = make_compare()
    return [
        language_bars(scores, "en"),
        loss_curve(series),
        generalized_heatmap(["en", "sw"], [[0.8, 0.5], [0.5, 0.6]], "xnli"),
        grouped_bars(result),
        delta_bars(result),
        groups_heatmap(result),
        tier_bars(result),
    ]


def test_every_server_figure_turns_the_cloud_buttons_off() -> None:
    for figure in _figures():
        if figure is None:
            continue
        config = figure["config"]
        assert config["displaylogo"] is False and config["showSendToCloud"] is False
        assert config["showEditInChartStudio"] is False and config["showLink"] is False
        assert {"sendDataToCloud", "editInChartStudio"} <= set(config["modeBarButtonsToRemove"])


def test_the_drawing_script_forces_them_off_whatever_a_figure_says() -> None:
    scripts = {p.name: p.read_text() for p in STATIC_JS.glob("*.js")}
    drawing = [name for name, text in scripts.items() if re.search(r"Plotly\.(newPlot|react|plot)\(", text)]
    assert drawing == ["charts.js"]  # one place draws charts
    charts = scripts["charts.js"]
    for setting in (
        "showSendToCloud: false",
        "showEditInChartStudio: false",
        "displaylogo: false",
        "showLink: false",
    ):
        assert setting in charts
    assert '"sendDataToCloud"' in charts
    # the figure's own config is spread before NO_CLOUD, so a figure cannot turn the cloud back on
    assert charts.index("...(figure.config || {}),") < charts.index(
        "...NO_CLOUD,\n    modeBarButtonsToRemove"
    )


def test_pages_carry_figures_with_the_cloud_off(client: TestClient) -> None:
    (run_id,) = seed_runs(1)
    page = client.get(f"/runs/{run_id}").text
    blocks = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S)
    assert blocks
    for block in blocks:
        assert json.loads(block)["config"]["showSendToCloud"] is False
