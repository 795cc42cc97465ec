"""A study report as text: a plain table for the terminal, Markdown for notes and docs/RESULTS.md,
JSON for scripts (`xlt report ID --format table|json|latex|markdown`; LaTeX in `render_latex`).

Why pure functions over the report model: the CLI, the API and the docs print the same rows, built
once here (`*_rows`), and only the cell syntax differs. Values print as percentage points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from backend.studies.render_latex import render_latex
from backend.studies.report_models import Estimate, StudyReport
from backend.studies.verdicts import points

Format = Literal["table", "json", "latex", "markdown"]
Rows = tuple[list[str], list[list[str]]]


def fmt_p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_delta(value: float | None) -> str:
    return "-" if value is None else points(value)


def fmt_ci(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{points(low)}, {points(high)}]"


def fmt_mean(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _n(e: Estimate) -> str:
    return f"{e.n_pairs} pairs" if e.design == "paired" else f"{e.n_method} vs {e.n_baseline}"


def aggregate_rows(report: StudyReport) -> Rows:
    """One row per method × tier/gap: the seed-level test and its verdict."""
    headers = ["method", "on", "verdict", "delta", f"{100 * report.confidence:g}% CI", "p", "Holm p", "seeds"]
    labels = {(v.method, v.aggregate): v.label for v in report.verdicts}
    rows = [
        [
            a.method,
            a.aggregate,
            labels.get((a.method, a.aggregate), "-"),
            fmt_delta(a.estimate.delta),
            fmt_ci(a.estimate.ci_low, a.estimate.ci_high),
            fmt_p(a.estimate.p_value),
            fmt_p(a.p_holm),
            _n(a.estimate),
        ]
        for a in report.aggregates
    ]
    return headers, rows


def item_rows(report: StudyReport) -> Rows:
    headers = ["method", "on", "test", "items", "runs", "delta", "CI", "p", "Holm p / mid-p"]
    rows = [
        [
            t.method,
            t.aggregate,
            t.test,
            str(t.n_items),
            f"{t.method_runs} vs {t.baseline_runs}",
            fmt_delta(t.delta),
            fmt_ci(t.ci_low, t.ci_high),
            fmt_p(t.p_value),
            fmt_p(t.p_holm) if t.test == "paired_bootstrap" else f"mid-p {fmt_p(t.p_mid)}",
        ]
        for t in report.item_tests
    ]
    return headers, rows


def language_rows(report: StudyReport) -> Rows:
    headers = ["method", "dataset", "language", "tier", "baseline", "method mean", "delta", "CI", "n"]
    rows = [
        [
            r.method,
            r.dataset,
            r.language + (" (source)" if r.is_source else ""),
            "-" if r.is_source else r.tier,
            fmt_mean(r.estimate.baseline_mean),
            fmt_mean(r.estimate.method_mean),
            fmt_delta(r.estimate.delta),
            fmt_ci(r.estimate.ci_low, r.estimate.ci_high),
            _n(r.estimate),
        ]
        for r in report.languages
    ]
    return headers, rows


def excluded_rows(report: StudyReport) -> Rows:
    rows = [[str(e.run_id), e.method, str(e.seed), e.reason] for e in report.excluded]
    return ["run", "method", "seed", "reason"], rows


def _title(report: StudyReport) -> str:
    return f"Study report: {report.task} from {report.source_language}, against {report.baseline_method}"


def _preamble(report: StudyReport) -> list[str]:
    seeds = "; ".join(f"{m}: {', '.join(map(str, s)) or 'none'}" for m, s in report.seeds.items())
    return [
        f"Seeds included: {seeds}.",
        f"Deltas are method minus baseline in accuracy points; intervals {100 * report.confidence:g}%; "
        f"alpha {report.alpha:g} after Holm; {len(report.excluded)} run(s) excluded.",
    ]


def _sentences(report: StudyReport) -> list[str]:
    out = []
    for v in report.verdicts:
        out.append(v.sentence)
        if v.item_sentence:
            out.append("  " + v.item_sentence)
    return out


def _sections(report: StudyReport) -> list[tuple[str, Rows | list[str]]]:
    """The report's sections in reading order: tables and lists of sentences."""
    sections: list[tuple[str, Rows | list[str]]] = [
        ("Verdicts", _sentences(report)),
        ("Tiers, transfer gap and task average (seed level)", aggregate_rows(report)),
    ]
    if report.item_tests:
        sections.append(("Item-level evidence (same test items)", item_rows(report)))
    sections.append(("Per language (descriptive, not corrected for multiple tests)", language_rows(report)))
    sections.append((f"Excluded runs ({len(report.excluded)})", excluded_rows(report)))
    sections.append(("Rules", report.rules))
    if report.notes:
        sections.append(("Notes", report.notes))
    return sections


def _text_grid(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers), line, *(fmt.format(*row) for row in rows)]


def render_table(report: StudyReport) -> str:
    """Plain fixed-width text for a terminal."""
    lines = [_title(report), *_preamble(report)]
    for title, body in _sections(report):
        lines += ["", title, "=" * len(title)]
        if isinstance(body, tuple):
            lines += _text_grid(*body) if body[1] else ["(none)"]
        else:
            lines += [f"- {s}" if not s.startswith("  ") else f"  {s.strip()}" for s in body]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: StudyReport) -> str:
    """GitHub-flavoured Markdown: a heading per section, pipe tables, bullet lists."""
    lines = [f"## {_title(report)}", "", *_preamble(report)]
    for title, body in _sections(report):
        lines += ["", f"### {title}", ""]
        if isinstance(body, tuple):
            headers, rows = body
            if not rows:
                lines.append("(none)")
                continue
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "|".join("---" for _ in headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        else:
            lines += [f"  - {s.strip()}" if s.startswith("  ") else f"- {s}" for s in body]
    return "\n".join(lines) + "\n"


def render_json(report: StudyReport) -> str:
    return report.model_dump_json(indent=2)


RENDERERS: dict[Format, Callable[[StudyReport], str]] = {
    "table": render_table,
    "json": render_json,
    "latex": render_latex,
    "markdown": render_markdown,
}


def render_report(report: StudyReport, fmt: Format) -> str:
    """The report in one of `xlt report`'s formats."""
    return RENDERERS[fmt](report)
