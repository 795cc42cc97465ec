"""`xlt import PATH`: find every importable file under PATH, parse all of it, then store all or nothing.

PATH may be a CSV file, a `results.json`, an XTREME / Robust-XLT output folder, a results file in
one, or any folder above them (walked recursively; checkpoints and hidden folders are not read).
Everything is parsed before anything is stored, so one report lists every problem with its file
and line; only an import without problems reaches the database, in one transaction.

With `study=True` the runs become one new experiment of kind `study` (its report at
/experiments/{id}), its methods, seeds and baseline inferred from the runs (backend.importers.study);
an import that cannot make a study is refused like a malformed file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import Conflict
from backend.importers.csv_scores import read_csv
from backend.importers.model import ImportedRun, Problem
from backend.importers.results_json import read_results_json
from backend.importers.study import DEFAULT_BASELINE, infer_study
from backend.importers.xtreme import is_output_folder, read_folder


@dataclass
class ImportReport:
    path: str
    runs: list[ImportedRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    experiment_name: str | None = None
    experiment_id: int | None = None
    experiment_created: bool = False
    run_ids: list[int] = field(default_factory=list)
    study: dict[str, Any] | None = None  # the inferred spec of a study import

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        """What `xlt import` prints: each run (or each problem), then one closing line."""
        if self.problems:
            return [str(p) for p in self.problems] + [
                f"{len(self.problems)} problem(s) in {self.path}; nothing stored"
            ]
        out: list[str] = []
        for i, run in enumerate(self.runs):
            prefix = f"run {self.run_ids[i]}" if self.run_ids else "would create"
            out.append(f"{prefix}  {run.describe()}")
            out += [f"    note: {note}" for note in run.notes]
        where = f" in experiment '{self.experiment_name}'" if self.experiment_name else ""
        if self.study:
            where = f" in study '{self.experiment_name}' ({self.study_line()})"
        if self.dry_run:
            out.append(f"dry run: {len(self.runs)} run(s) would be created{where}; nothing stored")
        else:
            exp = ""
            if self.experiment_id is not None:
                state = "new" if self.experiment_created else "existing"
                exp = f" in experiment {self.experiment_id} '{self.experiment_name}' ({state})"
            if self.study and self.experiment_id is not None:
                exp = (
                    f" in study {self.experiment_id} '{self.experiment_name}' ({self.study_line()}); "
                    f"its report: /experiments/{self.experiment_id}"
                )
            out.append(f"imported {len(self.run_ids)} run(s){exp}")
        return out

    def study_line(self) -> str:
        spec = self.study or {}
        methods = [m for m in spec.get("methods", []) if m != spec.get("baseline")]
        seeds = ", ".join(map(str, spec.get("seeds", [])))
        return f"{', '.join(methods)} against '{spec.get('baseline')}', seeds {seeds}"


def _skip(name: str) -> bool:
    return name.startswith((".", "checkpoint-")) or name == "__pycache__"


def collect(path: Path) -> tuple[list[ImportedRun], list[Problem]]:
    """Parse everything importable under `path` (no database access)."""
    problems: list[Problem] = []
    runs: list[ImportedRun] = []
    if not path.exists():
        return [], [Problem(str(path), None, "no such file or folder")]
    if path.is_file():
        if path.suffix.lower() == ".csv":
            runs += read_csv(path, problems)
        elif path.name == "results.json":
            runs += [r for r in [read_results_json(path, problems)] if r]
        elif path.name.endswith("_results.txt"):
            runs += [r for r in [read_folder(path.parent, path.parent, problems)] if r]
        else:
            problems.append(Problem(str(path), None, "not a CSV, results.json or <split>_results.txt file"))
        return runs, list(dict.fromkeys(problems))
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not _skip(d))
        here = Path(folder)
        if is_output_folder(here):
            runs += [r for r in [read_folder(here, path, problems)] if r]
        for name in sorted(files):
            if name.lower().endswith(".csv"):
                runs += read_csv(here / name, problems)
            elif name == "results.json":
                runs += [r for r in [read_results_json(here / name, problems)] if r]
    problems = list(dict.fromkeys(problems))  # a line can fail two checks with one message
    if not runs and not problems:
        problems.append(
            Problem(str(path), None, "nothing to import: no *.csv, results.json or *_results.txt below it")
        )
    return runs, problems


def import_path(
    path: Path | str,
    experiment_name: str | None = None,
    dry_run: bool = False,
    *,
    study: bool = False,
    baseline: str = DEFAULT_BASELINE,
) -> ImportReport:
    """Parse everything under `path`; store all runs in one transaction unless there is any problem
    or `dry_run`. The report says what was (or would be) created, or every problem found.

    With `study` the runs form a new experiment of kind `study` named `experiment_name` (required),
    compared with the method `baseline`."""
    runs, problems = collect(Path(path))
    report = ImportReport(str(path), runs, problems, dry_run, experiment_name)
    if study and not experiment_name:
        problems.append(Problem(str(path), None, "study: a study import needs --experiment NAME"))
    elif study and runs and not problems:
        report.study, study_problems = infer_study(runs, str(path), baseline)
        problems += study_problems
    if problems or dry_run:
        return report
    from backend.store.imports import import_results  # parsing needs no database

    kind = "study" if study else "import"
    try:
        stored = import_results([r.result for r in runs], experiment_name, kind=kind, spec=report.study)
    except Conflict as exc:
        problems.append(Problem(str(path), None, exc.message))
        return report
    report.experiment_id, report.experiment_created, report.run_ids = stored
    return report


def import_command(
    path: str | Path,
    experiment: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    *,
    study: bool = False,
    baseline: str = DEFAULT_BASELINE,
) -> int:
    """`xlt import PATH [--experiment NAME [--study [--baseline METHOD]]] [--dry-run]`: prints the
    report; exit status 0 or 1."""
    report = import_path(path, experiment_name=experiment, dry_run=dry_run, study=study, baseline=baseline)
    for line in report.lines():
        echo(line)
    return report.exit_code
