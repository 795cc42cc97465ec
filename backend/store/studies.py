"""What a study's page and report read: its runs, their scores and per-example bitsets, each in ONE
query over the experiment (no query per run), so a report of thousands of runs is three round trips.

Rows come back as plain tuples; the service turns them into the statistics' inputs
(backend.studies.report_models.StudyRun), which the store does not import (no numpy/scipy here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select

from backend.db import session
from backend.models import Run, RunCorrectness, Score
from backend.store.common import aware


class StudyRunRow(NamedTuple):
    """One run of an experiment as the study page and report need it (no config, no summary)."""

    id: int
    method: str
    seed: int
    task: str
    source_language: str
    status: str
    progress: float
    warnings: list[dict[str, str]]


class StudyInputs(NamedTuple):
    runs: list[StudyRunRow]
    scores: list[tuple[int, str, str, float]]  # (run_id, dataset, language, value)
    correctness: list[
        tuple[int, str, str, int, str, str | None]
    ]  # (run_id, dataset, language, n, bits, digest)


class StudyState(NamedTuple):
    """What changes when a report's inputs change: runs, finished runs, the last finish."""

    runs: int
    finished: int
    last_finished_at: datetime | None


STUDY_RUN_COLUMNS = (
    Run.id,
    Run.method,
    Run.seed,
    Run.task,
    Run.config["source_language"].as_string(),
    Run.status,
    Run.progress,
    Run.warnings,
)


def _row(r: Any) -> StudyRunRow:
    return StudyRunRow(r[0], r[1], r[2], r[3], r[4] or "en", r[5], r[6], r[7] or [])


def study_runs(experiment_id: int) -> list[StudyRunRow]:
    """The experiment's runs in id order (one query)."""
    query = select(*STUDY_RUN_COLUMNS).where(Run.experiment_id == experiment_id).order_by(Run.id)
    with session() as s:
        return [_row(r) for r in s.connection().execute(query)]


def study_state(experiment_id: int) -> StudyState:
    """One aggregate query: enough to tell whether a report built earlier is still current."""
    with session() as s:
        n, finished, last = s.execute(
            select(func.count(Run.id), func.count(Run.finished_at), func.max(Run.finished_at)).where(
                Run.experiment_id == experiment_id
            )
        ).one()
    return StudyState(n, finished, aware(last))


def study_inputs(experiment_id: int, split: str, metric: str = "accuracy") -> StudyInputs:
    """The experiment's runs, their `metric` scores on `split` and their bitsets on `split`: three
    queries whatever the number of runs (scores and bitsets are joined to the runs by experiment)."""
    in_experiment = Run.experiment_id == experiment_id
    with session() as s:
        conn = s.connection()
        runs = [
            _row(r) for r in conn.execute(select(*STUDY_RUN_COLUMNS).where(in_experiment).order_by(Run.id))
        ]
        scores = conn.execute(
            select(Score.run_id, Score.dataset, Score.language, Score.value)
            .join(Run, Run.id == Score.run_id)
            .where(in_experiment, Score.metric == metric, Score.split == split)
        ).all()
        bits = conn.execute(
            select(
                RunCorrectness.run_id,
                RunCorrectness.dataset,
                RunCorrectness.language,
                RunCorrectness.n,
                RunCorrectness.bits,
                RunCorrectness.items_digest,
            )
            .join(Run, Run.id == RunCorrectness.run_id)
            .where(in_experiment, RunCorrectness.split == split)
        ).all()
    return StudyInputs(runs, [tuple(r) for r in scores], [tuple(r) for r in bits])  # type: ignore[misc]
