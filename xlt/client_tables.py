"""Plain-text tables the client verbs print: runs, one run, its scores, and a comparison.

Accuracies print as percentages with one decimal, as the dashboard and papers show them; the CSV and
JSON formats of `xlt results` keep the stored values (0–1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.compare import cell_index, compare_languages, group_labels
from backend.schemas import CompareResult
from worker.training.languages import language


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; columns in `right` right-aligned (numbers)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _when(text: str | None) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def runs_table(items: Sequence[dict[str, Any]]) -> str:
    rows = []
    for r in items:
        state = r["status"] if r["status"] != "running" else f"running {round(100 * r['progress'])}%"
        rows.append(
            [
                r["id"],
                state,
                _short(r["name"], 30),
                r["task"],
                r["method"],
                r["seed"],
                percent(r.get("average")),
                _short(r["model"]),
                _when(r["created_at"]),
            ]
        )
    headers = ["id", "status", "name", "task", "method", "seed", "avg %", "model", "created"]
    return table(headers, rows, (0, 5, 6))


def run_lines(run: dict[str, Any], server: str) -> list[str]:
    """`xlt show`: what the run is, where it stands, how it ended."""
    lines = [f"run {run['id']}  {run['status']}  {run['name']}".rstrip(), f"  {server}/runs/{run['id']}"]
    lines.append(f"  task {run['task']} · model {run['model']} · method {run['method']} · seed {run['seed']}")
    extra = []
    if run.get("experiment_id") is not None:
        extra.append(f"experiment {run['experiment_id']}")
    if run.get("tags"):
        extra.append("tags " + ", ".join(run["tags"]))
    if run.get("owner"):
        extra.append(f"owner {run['owner']}")
    if extra:
        lines.append("  " + " · ".join(extra))
    times = f"  created {_when(run['created_at'])} · started {_when(run.get('started_at'))}"
    lines.append(times + f" · finished {_when(run.get('finished_at'))}")
    if run["status"] in ("queued", "running"):
        stage = f" ({run['stage']} stage)" if run.get("stage") else ""
        lines.append(f"  progress {round(100 * run.get('progress', 0))}%{stage}")
        if run.get("waiting_for_queue"):
            why = f": {run['dispatch_error']}" if run.get("dispatch_error") else ""
            lines.append(f"  waiting for the queue{why}")
    if run.get("error_message"):
        lines.append(f"  error: {run['error_message']}")
    summary = run.get("summary") or {}
    if run.get("average") is not None:
        tiers = summary.get("by_resource_tier") or {}
        tier_text = " · ".join(f"{t} {percent(v)}" for t, v in tiers.items() if v is not None)
        lines.append(f"  average {percent(run['average'])}%" + (f" · {tier_text}" if tier_text else ""))
        if summary.get("transfer_gap") is not None:
            lines.append(f"  transfer gap {percent(summary['transfer_gap'])} points")
    for warning in summary.get("warnings") or []:
        lines.append(f"  warning: {warning}")
    return lines


def scores_table(scores: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            s["dataset"],
            s["language"],
            language(s["language"]).name,
            language(s["language"]).tier,
            s["split"],
            s["metric"],
            percent(s["value"]),
            s["n"],
        ]
        for s in scores
    ]
    return table(["dataset", "lang", "language", "tier", "split", "metric", "value %", "n"], rows, (6, 7))


def compare_table(result: CompareResult) -> str:
    """One row per group (runs that differ only in seed), one column per language: mean ± std (%)."""
    order = compare_languages(result)
    cells = cell_index(result)
    labels = group_labels(result)
    rows = []
    for g in result.groups:
        row: list[Any] = [labels[g.key], len(g.seeds)]
        for code in order:
            cell = cells.get((g.key, code))
            text = percent(cell.mean) if cell else "-"
            row.append(text + (f"±{100 * cell.std:.1f}" if cell and cell.n > 1 else ""))
        row.append(percent(result.average.get(g.key)))
        rows.append(row)
    headers = ["group", "seeds", *order, "avg"]
    legend = f"({result.metric}, %, mean±std over seeds)"
    return table(headers, rows, tuple(range(1, len(headers)))) + "\n" + legend
