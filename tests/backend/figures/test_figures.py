"""Figure builders: plain data in, Plotly figure dict out (what the pages draw)."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.compare import short_group_labels
from backend.figures.compare_figures import delta_bars, grouped_bars, groups_heatmap, tier_bars
from backend.figures.run_figures import generalized_heatmap, language_bars, loss_curve
from backend.figures.style import ordered_languages
from backend.schemas import MetricSeries, ScoreOut
from tests.factories import make_compare

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def score(lang: str, value: float, metric: str = "accuracy", dataset: str = "xnli") -> ScoreOut:
    return ScoreOut(dataset=dataset, language=lang, split="test", metric=metric, value=value, n=100)


def test_language_bars_has_one_bar_per_language_coloured_by_tier():
    scores = [
        score("en", 0.8),
        score("de", 0.7),
        score("sw", 0.5),
        score("ur", 0.55),
        score("en", 0.9, "loss"),
    ]
    fig = language_bars(scores, source_language="en")
    bars = {
        x: (trace["name"], y)
        for trace in fig["data"]
        if trace["type"] == "bar"
        for x, y in zip(trace["x"], trace["y"], strict=True)
    }
    assert set(bars) == {"en", "de", "sw", "ur"}
    assert bars["sw"][0].startswith("Low-resource") and bars["ur"][0].startswith("Mid-resource")
    assert bars["de"] == ("High-resource (class 4–5)", 70.0)
    assert bars["en"] == ("Source: English (en)", 80.0)  # its own legend entry, outlined
    # source first, then high → mid → low; ticks carry language names
    assert fig["layout"]["xaxis"]["categoryarray"] == ["en", "de", "ur", "sw"]
    assert any("Swahili" in t for t in fig["layout"]["xaxis"]["ticktext"])
    # dashed line at the mean over target languages only (de, ur, sw)
    mean = (70 + 55 + 50) / 3
    assert abs(fig["layout"]["shapes"][0]["y0"] - mean) < 1e-9
    # the line is explained in the legend (not by a label that could cover a bar's value)
    assert fig["data"][-1]["name"] == f"Mean over target languages: {mean:.1f}"


def test_language_bars_rotates_ticks_when_many_languages():
    codes = ["en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
    extra = ["aym", "bzd", "cni"]
    scores = [score(c, 0.5) for c in codes] + [score(c, 0.4, dataset="americasnli") for c in extra]
    fig = language_bars(scores)
    assert sum(len(t["x"]) for t in fig["data"] if t["type"] == "bar") == 18
    assert fig["layout"]["xaxis"]["tickangle"] == -45


def test_loss_curve_puts_sts_stage_on_its_own_axis():
    series = [
        MetricSeries(stage="intermediate", name="loss", steps=[1, 2], values=[4.0, 3.0]),
        MetricSeries(stage="task", name="loss", steps=[1, 2, 3], values=[1.1, 1.0, 0.9]),
        MetricSeries(stage="task", name="lr", steps=[1, 2, 3], values=[1e-5, 2e-5, 1e-5]),
    ]
    fig = loss_curve(series)
    assert [t["yaxis"] for t in fig["data"]] == ["y2", "y"]
    assert "yaxis2" in fig["layout"]
    assert fig["data"][1]["y"] == [1.1, 1.0, 0.9]


def test_loss_curve_without_points_says_so():
    fig = loss_curve([])
    assert fig["data"] == []
    assert "No loss points" in fig["layout"]["annotations"][0]["text"]


def test_generalized_heatmap_is_square_in_percent():
    fig = generalized_heatmap(["en", "de"], [[0.8, 0.6], [0.55, 0.7]])
    trace = fig["data"][0]
    assert trace["z"] == [[80.0, 60.0], [55.0, 70.0]]
    assert trace["x"] == trace["y"] == ["English (en)", "German (de)"]


def test_grouped_bars_have_std_error_bars_per_group():
    fig = grouped_bars(make_compare())
    assert len(fig["data"]) == 2
    first = fig["data"][0]
    assert first["error_y"]["array"] == [2.0, 2.0, 2.0, 2.0]
    assert first["x"] == ["en", "de", "ur", "sw"]
    assert first["name"].startswith("baseline (baseline)")
    assert fig["data"][1]["name"].startswith("rs_rp")
    # tier bands and labels for high, mid, low
    assert [a["text"] for a in fig["layout"]["annotations"]] == [
        "High-resource",
        "Mid-resource",
        "Low-resource",
    ]


def test_delta_bars_skip_baseline_and_show_percentage_points():
    fig = delta_bars(make_compare())
    assert len(fig["data"]) == 1
    assert fig["data"][0]["y"] == [5.0, 5.0, 5.0, 5.0]
    assert fig["data"][0]["text"][0] == "+5.0"


def test_delta_bars_without_baseline_explain_what_to_do():
    fig = delta_bars(make_compare(baseline=None))
    assert fig["data"] == []
    assert any("baseline" in a["text"] for a in fig["layout"]["annotations"])


def test_groups_heatmap_rows_are_groups_columns_languages():
    fig = groups_heatmap(make_compare())
    trace = fig["data"][0]
    assert trace["y"] == ["baseline (baseline)", "rs_rp"]
    assert trace["x"][0] == "English (en)"
    assert trace["z"][1][0] == 55.0


def test_tier_bars_cover_tiers_and_overall_average():
    fig = tier_bars(make_compare())
    assert fig["data"][0]["x"] == ["High", "Mid", "Low", "All"]
    assert "class 4–5" in fig["layout"]["xaxis"]["ticktext"][0]
    assert fig["data"][0]["y"] == [51.0, 52.0, 50.0, 51.5]


def test_short_group_labels_drop_shared_parts():
    labels = short_group_labels(["xnli · xlmr · baseline", "xnli · xlmr · rs_da"])
    assert labels == {"xnli · xlmr · baseline": "baseline", "xnli · xlmr · rs_da": "rs_da"}
    assert short_group_labels(["only"]) == {"only": "only"}


def test_ordered_languages_source_first_then_by_tier():
    assert ordered_languages(["sw", "en", "de", "ur", "de"], "en") == ["en", "de", "ur", "sw"]


def test_group_labels_in_charts_are_text_not_markup():
    result = make_compare()
    result.groups[1].key = "xnli · <b>m</b> · rs_rp"
    for cell in result.cells:
        if cell.group == "xnli · m · rs_rp":
            cell.group = result.groups[1].key
    names = [t["name"] for t in grouped_bars(result)["data"]]
    assert any("&lt;b&gt;m&lt;/b&gt;" in n for n in names) and not any("<b>" in n for n in names)


def test_extra_datasets_come_after_the_task_dataset():
    scores = [score("aym", 0.4, dataset="americasnli"), score("sw", 0.5), score("en", 0.8), score("de", 0.7)]
    fig = language_bars(scores)
    assert fig["layout"]["xaxis"]["categoryarray"] == ["en", "de", "sw", "aym"]
    # a dotted separator and the dataset's name where AmericasNLI begins
    assert (
        fig["layout"]["shapes"][0]["x0"] == 2.5
        and fig["layout"]["annotations"][0]["text"].strip() == "AmericasNLI"
    )
