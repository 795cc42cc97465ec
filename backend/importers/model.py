"""What parsing an import yields before anything is stored: finished runs and problems.

Every format (XTREME / Robust-XLT output folders, CSV tables of scores, `results.json` files) parses
into the same two things: `ImportedRun` (a RunConfig and the results.json payload the worker would
have written) and `Problem` (what is wrong, with file and line). That is what lets the loader check
everything first, print a dry run, and store all runs in one transaction or none.

`build_run` is the single place where parsed metadata becomes a RunConfig and scores become a
summary, so an imported run validates and averages exactly like a trained one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError

from worker.training.config import IntermediateConfig, RobustMethod, RunConfig, format_validation_error
from worker.training.languages import COMPATIBLE_EXTRA, DATASET_LANGUAGES, LANGUAGES
from worker.training.results import GeneralizedMatrix, RunResult, Score, SelectedCheckpoint
from worker.training.summary import summarize

Origin = Literal["xtreme", "csv", "results.json"]

# Method labels are RunConfig.method_label read backwards: '+'-joined parts, intermediate task first.
INTERMEDIATE_TASKS: tuple[str, ...] = get_args(IntermediateConfig.model_fields["task"].annotation)
ROBUST_METHODS: tuple[str, ...] = tuple(m for m in get_args(RobustMethod) if m != "none")


@dataclass(frozen=True)
class Problem:
    """One thing that stops an import, located as `file:line` (line None: the whole file/folder)."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class ParseFailed(Exception):
    """Raised by parsers that stop at the first problem of a file (the caller records it)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ImportedRun(BaseModel):
    source: str = Field(description="the folder or file the run was read from")
    origin: Origin
    result: RunResult
    notes: list[str] = Field(default_factory=list, description="what was assumed or left out")

    @property
    def config(self) -> RunConfig:
        return RunConfig.model_validate(self.result.config)

    def describe(self) -> str:
        """One report line: what run would be (or was) created."""
        cfg = self.config
        average = self.result.summary.average
        avg = f"average {average:.4f}" if average is not None else "no average"
        languages = {s.language for s in self.result.scores if s.dataset == cfg.task}
        extra = " +generalized" if self.result.generalized else ""
        return (
            f"{cfg.name}: {cfg.task} {cfg.model} {cfg.method_label} seed {cfg.train.seed}, "
            f"{len(self.result.scores)} scores ({len(languages)} {cfg.task} languages{extra}), {avg} "
            f"[{self.origin}: {self.source}]"
        )


def method_fields(label: str) -> dict[str, Any]:
    """RunConfig fields for a method label such as 'baseline', 'rs_da' or 'stsb+rs_da'.

    Raises ValueError naming the known parts for anything else.
    """
    fields: dict[str, Any] = {}
    for part in (p.strip() for p in label.strip().lower().split("+")):
        if part in ("baseline", "none", ""):
            continue
        if part in INTERMEDIATE_TASKS and "intermediate" not in fields:
            fields["intermediate"] = {"task": part}
        elif part in ROBUST_METHODS and "robust" not in fields:
            fields["robust"] = {"method": part}
        else:
            known = ", ".join(("baseline", *INTERMEDIATE_TASKS, *ROBUST_METHODS))
            raise ValueError(
                f"unknown method '{label}'; known parts: {known}, joined with '+' (e.g. stsb+rs_da)"
            )
    return fields


def language_problem(code: str, dataset: str | None) -> str | None:
    """Why `code` cannot be a score's language (of `dataset`, when known), or None if it can."""
    if code not in LANGUAGES:
        return f"unknown language code '{code}' (worker/training/languages.py lists the known ones)"
    if dataset is not None and dataset in DATASET_LANGUAGES and code not in DATASET_LANGUAGES[dataset]:
        known = ", ".join(DATASET_LANGUAGES[dataset])
        return f"language '{code}' is not a {dataset} language; {dataset} has {known}"
    return None


def dataset_problem(dataset: str, task: str) -> str | None:
    """Why scores of `dataset` cannot belong to a run of `task`, or None if they can."""
    allowed = (task, *COMPATIBLE_EXTRA.get(task, ()))
    if dataset not in allowed:
        return f"dataset '{dataset}' cannot be scored by a {task} run; allowed: {', '.join(allowed)}"
    return None


def build_run(
    *,
    source: str,
    origin: Origin,
    config: dict[str, Any],
    scores: list[Score],
    generalized: GeneralizedMatrix | None = None,
    selected_checkpoint: SelectedCheckpoint | None = None,
    environment: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> ImportedRun:
    """A finished run from parsed metadata (partial RunConfig fields) and scores.

    Evaluation fields are filled from the scores themselves (languages, extra datasets, split,
    generalized) so the config says what was actually evaluated. Raises ValueError with the
    one-line validation message if the result is not a valid RunConfig.
    """
    task = config.get("task")
    languages = list(dict.fromkeys(s.language for s in scores if s.dataset == task))
    extra = sorted({s.dataset for s in scores if s.dataset != task})
    split = scores[0].split if scores else "test"
    eval_fields = dict(config.get("eval") or {})
    eval_fields.update(split=split, extra=extra, generalized=generalized is not None)
    if languages:
        ordered = [code for code in DATASET_LANGUAGES.get(str(task), ()) if code in languages]
        eval_fields["languages"] = ordered or languages
    try:
        cfg = RunConfig.model_validate({**config, "eval": eval_fields})
    except ValidationError as exc:
        raise ValueError(f"not a valid run config: {format_validation_error(exc)}") from None
    result = RunResult(
        config=cfg.model_dump(mode="json"),
        status="succeeded",
        scores=scores,
        summary=summarize(scores, cfg.task, cfg.source_language),
        generalized=generalized,
        selected_checkpoint=selected_checkpoint,
        environment={"imported_from": source, "format": origin, **(environment or {})},
    )
    return ImportedRun(source=source, origin=origin, result=result, notes=notes or [])


def short_name(name: str, limit: int = 200) -> str:
    """Run names are at most 200 characters; long paths keep their informative end."""
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]
