"""A CSV table of per-language scores → finished runs (one per distinct `run`).

For results that exist only as a spreadsheet or a paper's table. UTF-8 (a BOM is fine), comma
separated, a header row naming the columns, one score a row:

    run,task,model,method,seed,dataset,language,split,metric,value,n
    mbert-rsda-s1,xnli,bert-base-multilingual-cased,rs_da,1,xnli,de,test,accuracy,0.712,5010

column            required (default)   meaning
run               yes                  the run's name; rows with the same `run` are one run
task              yes                  xnli or pawsx: the task it was fine-tuned on
model             yes                  hub id or path of the pretrained model
method            no (baseline)        method label as XLT Lab writes it: baseline, stsb, rs_da,
                                       rs_rp, adv, stsb+rs_da, …
seed              no (42)              training seed
source_language   no (en)              the language it was fine-tuned on
dataset           no (the task)        the evaluation set: the task's own, or one sharing its
                                       labels (americasnli for xnli)
language          yes                  language code from worker/training/languages.py
split             no (test)            evaluation split; one per run
metric            yes                  accuracy (acc accepted)
value             yes                  a fraction in 0–1 (0.712, not 71.2)
n                 no (0 = unknown)     number of evaluated examples

`run`, `task`, `model`, `method`, `seed` and `source_language` must agree on every row of a run.
Unknown columns, language codes, metrics, datasets or methods, numbers that do not parse, a
repeated (run, dataset, language, metric) and a run mixing splits are each reported as
`file:line: …`; a file with any problem yields no run.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backend.importers.model import (
    ImportedRun,
    Problem,
    build_run,
    dataset_problem,
    language_problem,
    method_fields,
    short_name,
)
from worker.training.languages import DATASET_LANGUAGES
from worker.training.results import Score

REQUIRED = ("run", "task", "model", "language", "metric", "value")
OPTIONAL = ("method", "seed", "source_language", "dataset", "split", "n")
RUN_COLUMNS = ("task", "model", "method", "seed", "source_language")  # the same on every row of a run
METRICS = {"accuracy": "accuracy", "acc": "accuracy"}  # tasks are classification: accuracy only


def _rows(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, restkey="__extra__")
        header = [h.strip() for h in reader.fieldnames or []]
        unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
        missing = [h for h in REQUIRED if h not in header]
        if unknown or missing:
            parts = [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
            parts += [f"missing column(s) {', '.join(missing)}"] if missing else []
            problems.append(
                Problem(str(path), 1, f"{'; '.join(parts)}; columns: {', '.join(REQUIRED + OPTIONAL)}")
            )
            return
        reader.fieldnames = header
        for row in reader:
            if "__extra__" in row or None in row.values():
                problems.append(Problem(str(path), reader.line_num, f"expected {len(header)} fields"))
                continue
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _score(row: dict[str, str], task: str, where: tuple[str, int], problems: list[Problem]) -> Score | None:
    """One row's score, or None after recording every problem the row has."""
    found: list[str] = []
    dataset = row.get("dataset") or task
    metric = METRICS.get(row["metric"].lower())
    if metric is None:
        found.append(f"unknown metric '{row['metric']}'; known: {', '.join(METRICS)}")
    if task in DATASET_LANGUAGES and (why := dataset_problem(dataset, task)):
        found.append(why)
    if why := language_problem(row["language"], dataset if dataset in DATASET_LANGUAGES else None):
        found.append(why)
    value = n = None
    try:
        value = float(row["value"])
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            hint = "; write fractions (0.712), not percentages" if 1.0 < value <= 100.0 else ""
            found.append(f"value {row['value']} is outside 0–1{hint}")
    except ValueError:
        found.append(f"value '{row['value']}' is not a number")
    try:
        n = int(row.get("n") or 0)
        if n < 0:
            found.append(f"n {n} is negative")
    except ValueError:
        found.append(f"n '{row['n']}' is not a whole number")
    problems.extend(Problem(*where, message) for message in found)
    if found or value is None or n is None or metric is None:
        return None
    split = row.get("split") or "test"
    return Score(dataset=dataset, language=row["language"], split=split, metric=metric, value=value, n=n)


def _fields(first: dict[str, str]) -> dict[str, Any]:
    """Partial RunConfig of a run from its first row (raises ValueError for a bad method or seed)."""
    try:
        seed = int(first.get("seed") or 42)
    except ValueError:
        raise ValueError(f"seed '{first['seed']}' is not a whole number") from None
    fields: dict[str, Any] = {
        "name": short_name(first["run"]),
        "task": first["task"],
        "model": first["model"],
        "train": {"seed": seed},
        **method_fields(first.get("method") or "baseline"),
    }
    if first.get("source_language"):
        fields["source_language"] = first["source_language"]
    return fields


def read_csv(path: Path, problems: list[Problem]) -> list[ImportedRun]:
    """Every run of one CSV file; none if the file has any problem (each recorded with its line)."""
    before = len(problems)
    firsts: dict[str, tuple[int, dict[str, str]]] = {}
    scores: dict[str, list[Score]] = {}
    seen: set[tuple[str, str, str, str]] = set()
    for line, row in _rows(path, problems):
        where = (str(path), line)
        empty = [c for c in REQUIRED if not row.get(c)]
        if empty:
            problems.append(Problem(*where, f"empty {', '.join(empty)}"))
            continue
        run = row["run"]
        first_line, first = firsts.setdefault(run, (line, row))
        differ = [c for c in RUN_COLUMNS if row.get(c, "") != first.get(c, "")]
        if differ:
            problems.append(
                Problem(*where, f"run '{run}' has another {', '.join(differ)} on line {first_line}")
            )
            continue
        score = _score(row, row["task"], where, problems)
        if score is None:
            continue
        key = (run, score.dataset, score.language, score.metric)
        if key in seen:
            problems.append(
                Problem(*where, f"{score.dataset} {score.language} {score.metric} repeated in run '{run}'")
            )
            continue
        seen.add(key)
        own = scores.setdefault(run, [])
        if own and own[0].split != score.split:
            problems.append(Problem(*where, f"run '{run}' mixes splits {own[0].split} and {score.split}"))
            continue
        own.append(score)
    runs: list[ImportedRun] = []
    for run, (line, first) in firsts.items():
        try:
            runs.append(
                build_run(
                    source=f"{path}:{line}",
                    origin="csv",
                    config=_fields(first),
                    scores=scores.get(run, []),
                    notes=[] if all(s.n for s in scores.get(run, [])) else ["n unknown (0) for some scores"],
                )
            )
        except ValueError as exc:
            problems.append(Problem(str(path), line, f"run '{run}': {exc}"))
    if not firsts and len(problems) == before:
        problems.append(Problem(str(path), None, "no score rows"))
    return runs if len(problems) == before else []
