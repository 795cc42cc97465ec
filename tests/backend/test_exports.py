"""Exports: CSV/JSON of per-language scores, LaTeX booktabs table of a comparison."""

from __future__ import annotations

import csv
import io
import json

from backend.exports import (
    compare_csv,
    compare_json,
    compare_latex,
    latex_escape,
    run_scores_csv,
    run_scores_json,
)
from backend.schemas import ScoreOut
from tests.factories import make_compare, make_run

SCORES = [
    ScoreOut(dataset="xnli", language="sw", split="test", metric="accuracy", value=0.61, n=498),
    ScoreOut(dataset="xnli", language="en", split="test", metric="accuracy", value=0.8, n=498),
]


def test_run_csv_has_one_row_per_score_with_language_name_and_tier():
    rows = list(csv.DictReader(io.StringIO(run_scores_csv(make_run(), SCORES))))
    assert len(rows) == 2
    assert rows[0]["run_name"] == 'a,b "quoted"'
    assert (rows[0]["language_name"], rows[0]["tier"], float(rows[0]["value"])) == ("Swahili", "low", 0.61)


def test_run_json_round_trips_scores():
    payload = json.loads(run_scores_json(make_run(), SCORES))
    assert payload["run"]["id"] == 7
    assert [s["language"] for s in payload["scores"]] == ["sw", "en"]


def test_compare_csv_and_json_carry_mean_std_delta():
    rows = list(csv.DictReader(io.StringIO(compare_csv(make_compare()))))
    assert len(rows) == 8
    assert rows[0]["run_ids"] == "1 2" and rows[0]["std"] == "0.02"
    assert json.loads(compare_json(make_compare()))["baseline"] == "xnli · m · baseline"


def test_latex_table_is_booktabs_with_best_in_bold_and_escaped_labels():
    tex = compare_latex(make_compare())
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    rows = [line for line in tex.splitlines() if line.startswith(("baseline", "rs"))]
    assert len(rows) == 2
    assert rows[1].startswith(r"rs\_rp")  # underscore escaped
    assert r"\textbf{55.0}" in rows[1] and r"\textbf" not in rows[0].split("&")[1]
    assert r"$\pm$2.0" in rows[0]
    # columns: label + 4 languages + 3 tiers + average
    assert rows[0].count("&") == 8


def test_latex_escape_special_characters():
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_get_a_leading_quote_numbers_stay():
    for name in (
        '=HYPERLINK("http://evil.example","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
    ):
        run = make_run().model_copy(update={"name": name})
        rows = list(csv.DictReader(io.StringIO(run_scores_csv(run, SCORES))))
        assert rows[0]["run_name"] == "'" + name
    result = make_compare()
    result.cells[0] = result.cells[0].model_copy(update={"delta": -0.0125})
    rows = list(csv.DictReader(io.StringIO(compare_csv(result))))
    assert rows[0]["delta_vs_baseline"] == "-0.0125" and float(rows[0]["delta_vs_baseline"]) == -0.0125
