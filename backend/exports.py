"""Exports of scores: CSV and JSON of a run or a comparison, and a LaTeX (booktabs) table of a comparison.

Pure functions of the store's pydantic objects; the page routes only set the content type and file name.
Values are accuracies in [0, 1] in CSV/JSON (as stored) and percentages in the LaTeX table (as papers print).
CSV cells of text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return: a run named `=HYPERLINK(…)`) get a leading `'` (OWASP's CSV injection advice); numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from backend.compare import cell_index, compare_languages, group_labels
from backend.figures.style import TIER_ORDER
from backend.schemas import CompareResult, RunOut, ScoreOut
from worker.training.languages import language

RUN_CSV_COLUMNS = [
    "run_id",
    "run_name",
    "task",
    "model",
    "method",
    "seed",
    "dataset",
    "language",
    "language_name",
    "tier",
    "split",
    "metric",
    "value",
    "n",
]
COMPARE_CSV_COLUMNS = [
    "group",
    "run_ids",
    "seeds",
    "dataset",
    "language",
    "language_name",
    "tier",
    "mean",
    "std",
    "n",
    "delta_vs_baseline",
    "delta_ci_low",  # 95% interval of the delta over seeds (empty without one)
    "delta_ci_high",
]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet would evaluate gets a leading quote; numbers (-0.01 included) are kept."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv(columns: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; also quotes a field holding a \r
    writer.writerow(columns)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()


def run_scores_csv(run: RunOut, scores: Sequence[ScoreOut]) -> str:
    rows = [
        [
            run.id,
            run.name,
            run.task,
            run.model,
            run.method,
            run.seed,
            s.dataset,
            s.language,
            language(s.language).name,
            language(s.language).tier,
            s.split,
            s.metric,
            repr(s.value),
            s.n,
        ]
        for s in scores
    ]
    return _csv(RUN_CSV_COLUMNS, rows)


def run_scores_json(run: RunOut, scores: Sequence[ScoreOut]) -> str:
    payload = {
        "run": {
            "id": run.id,
            "name": run.name,
            "task": run.task,
            "model": run.model,
            "method": run.method,
            "seed": run.seed,
            "status": run.status,
            "config": run.config,
            "summary": run.summary,
        },
        "scores": [
            s.model_dump() | {"language_name": language(s.language).name, "tier": language(s.language).tier}
            for s in scores
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)


def compare_csv(result: CompareResult) -> str:
    groups = {g.key: g for g in result.groups}
    rows = []
    for c in result.cells:
        g = groups.get(c.group)
        rows.append(
            [
                c.group,
                " ".join(map(str, g.run_ids)) if g else "",
                " ".join(map(str, g.seeds)) if g else "",
                c.dataset,
                c.language,
                language(c.language).name,
                language(c.language).tier,
                repr(c.mean),
                repr(c.std),
                c.n,
                "" if c.delta is None else repr(c.delta),
                "" if c.ci_low is None else repr(c.ci_low),
                "" if c.ci_high is None else repr(c.ci_high),
            ]
        )
    return _csv(COMPARE_CSV_COLUMNS, rows)


def compare_json(result: CompareResult) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _best(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _fmt(value: float | None, std: float | None, best: float | None) -> str:
    if value is None:
        return "--"
    text = f"{100 * value:.1f}"
    if best is not None and round(100 * value, 1) == round(100 * best, 1):
        text = rf"\textbf{{{text}}}"
    if std is not None:
        text += rf"\textsubscript{{$\pm${100 * std:.1f}}}"
    return text


def compare_latex(result: CompareResult, caption: str | None = None, label: str = "tab:xlt-results") -> str:
    """A booktabs table: one row per group, one column per language, then tier and overall averages.

    Cells are mean with ±std over seeds as a subscript; the best value in each column is bold.
    """
    order = compare_languages(result)
    cells = cell_index(result)
    labels = group_labels(result)
    groups = result.groups
    tiers = [
        t for t in TIER_ORDER if any(result.tier_averages.get(g.key, {}).get(t) is not None for g in groups)
    ]
    n_lang, n_avg = len(order), len(tiers) + 1
    lines = [
        r"% requires \usepackage{booktabs}",
        r"\begin{table*}[t]",
        r"\centering",
        r"\small",
        r"\setlength{\tabcolsep}{4pt}",
        rf"\begin{{tabular}}{{l{'r' * n_lang}{'r' * n_avg}}}",
        r"\toprule",
        rf" & \multicolumn{{{n_lang}}}{{c}}{{Languages}} & \multicolumn{{{n_avg}}}{{c}}{{Averages}} \\",
        rf"\cmidrule(lr){{2-{n_lang + 1}}}\cmidrule(lr){{{n_lang + 2}-{n_lang + n_avg + 1}}}",
        "Method & "
        + " & ".join(latex_escape(c) for c in order)
        + " & "
        + " & ".join(t.capitalize() for t in tiers)
        + r" & Avg \\",
        r"\midrule",
    ]
    col_best = {
        c: _best([cells[(g.key, c)].mean if (g.key, c) in cells else None for g in result.groups])
        for c in order
    }
    tier_best = {t: _best([result.tier_averages.get(g.key, {}).get(t) for g in result.groups]) for t in tiers}
    avg_best = _best([result.average.get(g.key) for g in result.groups])
    for g in result.groups:
        row = [latex_escape(labels[g.key])]
        for c in order:
            cell = cells.get((g.key, c))
            row.append(
                _fmt(cell.mean if cell else None, cell.std if cell and cell.n > 1 else None, col_best[c])
            )
        row += [_fmt(result.tier_averages.get(g.key, {}).get(t), None, tier_best[t]) for t in tiers]
        row.append(_fmt(result.average.get(g.key), None, avg_best))
        lines.append(" & ".join(row) + r" \\")
    seeds = sorted({len(g.seeds) for g in result.groups})
    seed_text = "/".join(str(s) for s in seeds)
    default_caption = (
        f"Zero-shot cross-lingual {latex_escape(result.metric)} (\\%), mean $\\pm$ std over "
        f"{seed_text} seed(s); best per column in bold. Tiers follow Joshi et al.\\ (2020)."
    )
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{latex_escape(caption) if caption else default_caption}}}",
        rf"\label{{{label}}}",
        r"\end{table*}",
    ]
    return "\n".join(lines) + "\n"
