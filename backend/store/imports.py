"""Storing imported results: many finished runs, their scores and history, in ONE transaction.

Why not `lifecycle.import_result` in a loop: that opens a transaction per run, so a failure at the
fifth run of an import would leave four stored. `xlt import` promises all or nothing, so here the
experiment, every run row, score, history point and tag go through one session.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import insert, select

from backend.db import session
from backend.errors import Conflict
from backend.models import Experiment, Run, RunTag, utcnow
from backend.store import series
from backend.store.common import (
    CORRECTNESS_COLUMNS,
    SCORE_COLUMNS,
    correctness_rows,
    finite,
    insert_many,
    json_safe,
    warnings_json,
)
from worker.training.config import RunConfig
from worker.training.results import RunResult

SUMMARY_EXTRAS = ("selected_checkpoint", "timings", "environment", "generalized", "augmentation")


class StoredImport(NamedTuple):
    experiment_id: int | None
    experiment_created: bool
    run_ids: list[int]


def _summary(result: RunResult) -> dict[str, Any]:
    """The run row's summary JSON, as complete_run writes it (summary plus the extra sections)."""
    summary = result.summary.model_dump(mode="json")
    for extra in SUMMARY_EXTRAS:
        value = getattr(result, extra)
        summary[extra] = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    return json_safe(summary)


def _average(config: RunConfig, result: RunResult) -> float | None:
    """Task accuracy averaged over languages: the runs list's `average` column."""
    values = [
        s.value
        for s in result.scores
        if s.dataset == config.task
        and s.metric == "accuracy"
        and s.split == config.eval.split
        and finite(s.value)
    ]
    return sum(values) / len(values) if values else None


def import_results(
    results: Sequence[RunResult],
    experiment_name: str | None = None,
    *,
    tags: Iterable[str] = ("imported",),
    queue: str = "import",
    kind: str = "import",
    spec: dict[str, Any] | None = None,
    owner_id: int | None = None,
) -> StoredImport:
    """Store finished runs (status from each result, queue `import`), all or none.

    With `experiment_name` the runs join the newest experiment of that name, created (of `kind`,
    with `spec`) if there is none. An experiment of another kind than "import" is always new: its
    spec describes exactly these runs (a study's methods × seeds), so Conflict is raised when the
    name is taken. Configs are validated as RunConfig before anything is written; any error rolls
    back the whole import. `owner_id`: who imported them over the API (None: an operator's `xlt import`).
    """
    if kind != "import" and not experiment_name:
        raise ValueError(f"an imported {kind} needs an experiment name")
    configs = [RunConfig.model_validate(r.config) for r in results]
    tag_list = sorted(set(tags))
    now = utcnow()
    with session() as s:
        experiment_id, created = None, False
        if experiment_name:
            experiment_id = s.scalar(
                select(Experiment.id).where(Experiment.name == experiment_name).order_by(Experiment.id.desc())
            )
            if experiment_id is not None and kind != "import":
                raise Conflict(
                    f"experiment {experiment_id} '{experiment_name}' exists; an imported {kind} is a new "
                    "experiment of these runs only, so give it another name"
                )
            if experiment_id is None:
                description = "imported results" if kind == "import" else f"imported {kind}"
                exp = Experiment(
                    name=experiment_name, description=description, kind=kind, spec=spec, created_at=now
                )
                s.add(exp)
                s.flush()
                experiment_id, created = exp.id, True
        rows = [
            Run(
                owner_id=owner_id,
                experiment_id=experiment_id,
                name=config.name,
                status=result.status,
                task=config.task,
                model=config.model,
                method=config.method_label,
                seed=config.train.seed,
                queue=queue,
                config=config.model_dump(mode="json"),
                task_id="",
                progress=1.0,
                created_at=now,
                finished_at=now,
                summary=_summary(result),
                average=_average(config, result),
                warnings=warnings_json(result),
            )
            for config, result in zip(configs, results, strict=True)
        ]
        s.add_all(rows)
        s.flush()
        scores, bits = [], []
        for run, result in zip(rows, results, strict=True):
            bits += correctness_rows(run.id, result)
            scores += [
                (run.id, sc.dataset, sc.language, sc.split, sc.metric, sc.value, sc.n)
                for sc in result.scores
                if finite(sc.value)
            ]
            series.append(s, run.id, series.history_points(result.history))
        insert_many(s, "scores", SCORE_COLUMNS, scores)
        insert_many(s, "run_correctness", CORRECTNESS_COLUMNS, bits)
        if tag_list and rows:
            s.execute(insert(RunTag), [{"run_id": r.id, "tag": t} for r in rows for t in tag_list])
        return StoredImport(experiment_id, created, [r.id for r in rows])
