"""A run's metric series (loss, lr, an MLflow script's stepped metrics) as packed chunks.

Each write appends one `metric_chunks` row per (stage, name) it carries (backend.metric_codec packs
the points); a series reads back as its chunks in id order, sorted by step. A finished run's chunks
are merged into one row per series (`compact`), so the database holds a few rows a run instead of
one per point: 1,000 points take 4-8 KB instead of 60 KB. These functions take the caller's
session: they are parts of its transaction (a fenced progress write, a finished run, an MLflow log).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from backend.metric_codec import pack, unpack
from backend.models import MetricChunk
from backend.store.common import finite
from worker.training.results import HistoryPoint

Point = tuple[str, str, int, float]  # (stage, name, step, value)
TAIL_CHUNKS = 32  # a streamed series' newest chunks merged into one at a time
MERGED_POINTS = 256  # a chunk this large counts as merged already


class Series(NamedTuple):
    name: str
    stage: str
    steps: list[int]
    values: list[float]


def history_points(history: Iterable[HistoryPoint]) -> list[Point]:
    """A results.json history as loss and lr points; NaN and infinite values are gaps, not points."""
    return [
        (p.stage, name, p.step, value)
        for p in history
        for name, value in (("loss", p.loss), ("lr", p.lr))
        if finite(value)
    ]


def _chunk_row(
    run_id: int, stage: str, name: str, steps: list[int], values: list[float]
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "stage": stage,
        "name": name,
        "n": len(steps),
        "min_step": min(steps),
        "max_step": max(steps),
        "data": pack(steps, values),
    }


def append(s: Session, run_id: int, points: Iterable[Point], *, streaming: bool = False) -> None:
    """Append points (in logged order) as one chunk per (stage, name).

    `streaming`: the run is written a few points at a time (a worker's progress every second, an
    MLflow script's log calls); once a series has TAIL_CHUNKS chunks of its own, its newest ones
    are merged into one, so a ten-hour run reads back as a hundred or so chunks, not 36,000."""
    by_series: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for stage, name, step, value in points:
        steps, values = by_series.setdefault((stage, name), ([], []))
        steps.append(step)
        values.append(value)
    append_series(s, run_id, [Series(name, stage, st, v) for (stage, name), (st, v) in by_series.items()])
    if streaming:
        for stage, name in by_series:
            _merge_tail(s, run_id, stage, name)


def _merge_tail(s: Session, run_id: int, stage: str, name: str) -> None:
    """Merge the series' newest TAIL_CHUNKS chunks into one once it has that many unmerged ones
    (merged chunks hold more than MERGED_POINTS points and are left alone)."""
    newest = s.execute(
        select(MetricChunk.id, MetricChunk.n, MetricChunk.data)
        .where(MetricChunk.run_id == run_id, MetricChunk.name == name, MetricChunk.stage == stage)
        .order_by(MetricChunk.id.desc())
        .limit(TAIL_CHUNKS)
    ).all()
    tail = list(itertools.takewhile(lambda row: row[1] < MERGED_POINTS, newest))
    if len(tail) < TAIL_CHUNKS:
        return
    steps, values = _joined(data for _id, _n, data in reversed(tail))
    s.execute(delete(MetricChunk).where(MetricChunk.id.in_([row[0] for row in tail])))
    append_series(s, run_id, [Series(name, stage, steps, values)])


def append_series(s: Session, run_id: int, series: Sequence[Series]) -> None:
    rows = [_chunk_row(run_id, x.stage, x.name, x.steps, x.values) for x in series if x.steps]
    if rows:
        s.execute(insert(MetricChunk), rows)


def truncate(s: Session, run_id: int, stage: str, from_step: int) -> None:
    """Drop the run's points of `stage` at `from_step` and later (a resumed attempt rewrites what
    the lost one logged after its checkpoint)."""
    later = (MetricChunk.run_id == run_id, MetricChunk.stage == stage)
    s.execute(delete(MetricChunk).where(*later, MetricChunk.min_step >= from_step))
    straddling = s.execute(
        select(MetricChunk.id, MetricChunk.data).where(*later, MetricChunk.max_step >= from_step)
    ).all()
    for chunk_id, data in straddling:
        steps, values = unpack(data)
        kept = [(st, v) for st, v in zip(steps, values, strict=True) if st < from_step]
        kept_steps, kept_values = [st for st, _ in kept], [v for _, v in kept]
        s.execute(
            update(MetricChunk)
            .where(MetricChunk.id == chunk_id)
            .values(n=len(kept), max_step=max(kept_steps), data=pack(kept_steps, kept_values))
        )


def _joined(blobs: Iterable[bytes]) -> tuple[list[int], list[float]]:
    """Chunks' points one after the other, in the order given."""
    steps: list[int] = []
    values: list[float] = []
    for blob in blobs:
        more_steps, more_values = unpack(blob)
        steps += more_steps
        values += more_values
    return steps, values


def read(s: Session, run_id: int, names: Sequence[str] | None = None) -> list[Series]:
    """The run's series (all, or those named), ordered by (name, stage), each sorted by step."""
    query = select(MetricChunk.name, MetricChunk.stage, MetricChunk.data).where(MetricChunk.run_id == run_id)
    if names:
        query = query.where(MetricChunk.name.in_(list(names)))
    rows = s.connection().execute(query.order_by(MetricChunk.name, MetricChunk.stage, MetricChunk.id)).all()
    out = []
    for (name, stage), chunks in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        steps, values = _joined(data for _name, _stage, data in chunks)
        if any(a > b for a, b in itertools.pairwise(steps)):  # chunks out of step order (MLflow)
            order = sorted(range(len(steps)), key=steps.__getitem__)  # stable: ties keep log order
            steps, values = [steps[i] for i in order], [values[i] for i in order]
        out.append(Series(name, stage, steps, values))
    return out


def compact(s: Session, run_id: int) -> None:
    """Merge each series of the run that has several chunks into one row."""
    counts = s.execute(select(MetricChunk.name, MetricChunk.stage).where(MetricChunk.run_id == run_id)).all()
    if len(counts) == len(set(counts)):
        return  # one chunk per series already
    merged = read(s, run_id)
    s.execute(delete(MetricChunk).where(MetricChunk.run_id == run_id))
    append_series(s, run_id, merged)


def names_by_run(s: Session, run_ids: Sequence[int]) -> dict[int, set[str]]:
    """Which series names each run has."""
    found: dict[int, set[str]] = defaultdict(set)
    for run_id, name in s.connection().execute(
        select(MetricChunk.run_id, MetricChunk.name).where(MetricChunk.run_id.in_(list(run_ids))).distinct()
    ):
        found[run_id].add(name)
    return found


def has_series(s: Session, run_id: int, name: str) -> bool:
    first = select(MetricChunk.id).where(MetricChunk.run_id == run_id, MetricChunk.name == name).limit(1)
    return s.scalar(first) is not None
