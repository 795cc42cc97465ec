"""A study report as LaTeX (booktabs) tables, ready for a paper draft.

Two tables: the tier and transfer-gap deltas per method with their intervals (bold where the
verdict claims an effect, a dagger where it is inconclusive), and per dataset the baseline's
accuracy per language followed by each method's delta (descriptive, no marks: not corrected).
Needs `\\usepackage{booktabs}`. Values are percentage points.
"""

from __future__ import annotations

from backend.studies.report_models import StudyReport
from backend.studies.tiers import AGGREGATES
from backend.studies.verdicts import points

HEADINGS = {
    "low": "Low",
    "mid": "Mid",
    "high": "High",
    "transfer_gap": "Gap $\\downarrow$",
    "task_average": "Avg",
}
_ESCAPES = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
}


def escape(text: str) -> str:
    """Text safe inside a LaTeX table cell."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _aggregate_cell(report: StudyReport, method: str, aggregate: str) -> str:
    row = next((a for a in report.aggregates if a.method == method and a.aggregate == aggregate), None)
    if row is None or row.estimate.delta is None:
        return "--"
    e, delta = row.estimate, row.estimate.delta
    label = next(v.label for v in report.verdicts if v.method == method and v.aggregate == aggregate)
    value = f"\\mathbf{{{points(delta)}}}" if label in ("improves", "hurts") else points(delta)
    mark = "^{\\dagger}" if label == "inconclusive" else ""
    cell = f"${value}{mark}$"
    if e.ci_low is not None and e.ci_high is not None:
        cell += f" {{\\scriptsize [${points(e.ci_low)}$, ${points(e.ci_high)}$]}}"
    return cell


def _aggregate_table(report: StudyReport) -> list[str]:
    present = [a for a in AGGREGATES if any(r.aggregate == a for r in report.aggregates)]
    pct = f"{100 * report.confidence:g}\\%"
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        "\\begin{tabular}{l" + "c" * len(present) + "}",
        "\\toprule",
        "Method & " + " & ".join(HEADINGS[a] for a in present) + " \\\\",
        "\\midrule",
    ]
    for m in report.methods:
        seeds = len(report.seeds.get(m, []))
        cells = [_aggregate_cell(report, m, a) for a in present]
        lines.append(f"{escape(m)} ({seeds}) & " + " & ".join(cells) + " \\\\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{Change against \\texttt{{{escape(report.baseline_method)}}} on "
        f"{escape(report.task)} (zero-shot from {escape(report.source_language)}), in accuracy points: "
        f"mean over seeds (number of seeds in brackets) with {pct} interval. Tiers average target "
        f"languages only; Gap: source minus targets, lower is better. Bold: an effect (interval "
        f"excludes 0 and Holm-adjusted $p < {report.alpha:g}$); $\\dagger$: inconclusive "
        f"(fewer than {report.min_seeds} seeds or no interval).}}",
        f"\\label{{tab:study-{escape(report.task)}}}",
        "\\end{table}",
    ]
    return lines


def _language_table(report: StudyReport, dataset: str) -> list[str]:
    rows = [r for r in report.languages if r.dataset == dataset]
    langs = list(dict.fromkeys(r.language for r in rows))
    base = {r.language: r.estimate.baseline_mean for r in rows}

    def mean(lang: str) -> str:
        value = base[lang]
        return "--" if value is None else f"{100 * value:.1f}"

    def delta(method: str, lang: str) -> str:
        row = next((r for r in rows if r.method == method and r.language == lang), None)
        return "--" if row is None or row.estimate.delta is None else f"${points(row.estimate.delta)}$"

    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        "\\begin{tabular}{l" + "r" * len(langs) + "}",
        "\\toprule",
        "Method & " + " & ".join(escape(lang) for lang in langs) + " \\\\",
        "\\midrule",
        f"{escape(report.baseline_method)} & " + " & ".join(mean(lang) for lang in langs) + " \\\\",
        "\\midrule",
    ]
    lines += [
        f"{escape(m)} & " + " & ".join(delta(m, lang) for lang in langs) + " \\\\" for m in report.methods
    ]
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{escape(dataset)}: accuracy of \\texttt{{{escape(report.baseline_method)}}} (\\%, mean "
        f"over seeds) and each method's change in points. Per-language deltas are descriptive, not "
        f"corrected for multiple tests.}}",
        f"\\label{{tab:study-{escape(report.task)}-{escape(dataset)}}}",
        "\\end{table}",
    ]
    return lines


def render_latex(report: StudyReport) -> str:
    """The aggregate table, then one per-language table per evaluated dataset."""
    lines = _aggregate_table(report)
    for dataset in dict.fromkeys(r.dataset for r in report.languages):
        lines += ["", *_language_table(report, dataset)]
    return "\n".join(lines) + "\n"
