"""Renderers print the report's numbers and verdicts in each of `xlt report`'s formats."""

from __future__ import annotations

import json

import pytest

from backend.studies.render import render_markdown, render_report, render_table
from backend.studies.render_latex import escape, render_latex
from backend.studies.report import build_study_report
from backend.studies.report_models import StudyReport
from tests.factories import PLANTED, MakeRuns


def test_table_lists_verdicts_tiers_languages_exclusions_and_rules(planted_report: StudyReport) -> None:
    text = render_table(planted_report)
    assert text.startswith("Study report: xnli from en, against baseline\n")
    assert "- " + planted_report.verdict("rs_rp", "low").sentence in text
    header = next(line for line in text.splitlines() if line.startswith("method  on "))
    assert header.split() == ["method", "on", "verdict", "delta", "95%", "CI", "p", "Holm", "p", "seeds"]
    assert "rs_rp   low           improves" in text
    for section in ("Item-level evidence", "Per language", "Excluded runs (0)", "Rules"):
        assert section in text
    assert "sw" in text and "en (source)" in text


def test_markdown_has_a_pipe_table_per_section(planted_report: StudyReport) -> None:
    md = render_markdown(planted_report)
    assert md.startswith("## Study report: xnli from en, against baseline")
    assert "| method | on | verdict | delta | 95% CI | p | Holm p | seeds |" in md
    assert "|---|---|---|---|---|---|---|---|" in md
    assert "| rs_rp | low | improves | +3." in md
    assert "  - Item-level evidence (paired bootstrap" in md


def test_latex_is_booktabs_with_effects_in_bold_and_names_escaped(planted_report: StudyReport) -> None:
    tex = render_latex(planted_report)
    assert tex.count("\\toprule") == 3  # tiers, then xnli and americasnli per language
    assert tex.count("\\midrule") >= 3 and tex.count("\\bottomrule") == 3
    low_row = next(line for line in tex.splitlines() if line.startswith("rs\\_rp (5) &"))
    assert low_row.split(" & ")[1].startswith("$\\mathbf{+3.")
    assert "\\mathbf" not in next(line for line in tex.splitlines() if line.startswith("stsb (5) &"))
    assert "Gap $\\downarrow$" in tex


def test_latex_marks_inconclusive_cells(make_runs: MakeRuns) -> None:
    report = build_study_report(make_runs(PLANTED, [1, 2], with_bits=False), "baseline")
    tex = render_latex(report)
    assert "^{\\dagger}$" in tex and "\\mathbf" not in tex


def test_latex_escape() -> None:
    assert escape("stsb+rs_da 50% & #1") == "stsb+rs\\_da 50\\% \\& \\#1"


@pytest.mark.parametrize("fmt", ["table", "json", "latex", "markdown"])
def test_every_format_renders(planted_report: StudyReport, fmt: str) -> None:
    out = render_report(planted_report, fmt)  # type: ignore[arg-type]
    assert out.strip()
    if fmt == "json":
        assert StudyReport.model_validate(json.loads(out)) == planted_report


def test_excluded_runs_are_listed(make_runs: MakeRuns) -> None:
    runs = make_runs(PLANTED, range(1, 4), with_bits=False)
    runs[0] = runs[0].model_copy(update={"status": "failed"})
    text = render_table(build_study_report(runs, "baseline"))
    assert "Excluded runs (1)" in text and "status failed" in text
