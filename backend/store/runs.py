"""Creating and reading runs and experiments: submit, list with filters, scores, history, compare inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, text, update

from backend.db import session
from backend.models import Experiment, Run, RunTag, RunTotal, Score, utcnow
from backend.schemas import ExperimentOut, MetricSeries, RunOut, RunPage, ScoreOut
from backend.store import series
from backend.store.common import (
    LIST_COLUMNS,
    RUN_COLUMNS,
    SORTABLE,
    experiment_out,
    run_out,
    tags_for,
)
from worker.training.config import RunConfig

# ── creating runs ────────────────────────────────────────────────────────────────────────────────


def _new_run(
    config: RunConfig,
    queue: str,
    task_id: str,
    experiment_id: int | None,
    retry_of: int | None,
    owner_id: int | None = None,
) -> Run:
    now = utcnow()
    return Run(
        owner_id=owner_id,
        experiment_id=experiment_id,
        retry_of=retry_of,
        name=config.name,
        status="queued",
        task=config.task,
        model=config.model,
        method=config.method_label,
        seed=config.train.seed,
        queue=queue,
        config=config.model_dump(mode="json"),
        task_id=task_id,
        created_at=now,
        dispatched_at=now,  # the submitter sends it right after the commit (release_dispatch if that fails)
    )


def create_run(
    config: RunConfig,
    *,
    queue: str,
    task_id: str,
    experiment_id: int | None = None,
    tags: Iterable[str] = (),
    retry_of: int | None = None,
    owner_id: int | None = None,
) -> RunOut:
    """Insert one queued run (and its tags) in one transaction."""
    with session() as s:
        run = _new_run(config, queue, task_id, experiment_id, retry_of, owner_id)
        s.add(run)
        s.flush()
        tag_list = sorted(set(tags))
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": run.id, "tag": t} for t in tag_list])
        return run_out(run, tag_list)


def create_sweep(
    name: str,
    description: str,
    spec: dict[str, Any],
    runs: Sequence[tuple[RunConfig, str, str]],
    tags: Iterable[str] = (),
    owner_id: int | None = None,
    kind: str = "sweep",
) -> tuple[ExperimentOut, list[int]]:
    """One experiment (a sweep or a study) and all its queued runs, (config, queue, task_id) each,
    in one transaction."""
    tag_list = sorted(set(tags))
    with session() as s:
        exp = Experiment(name=name, description=description, kind=kind, spec=spec, created_at=utcnow())
        s.add(exp)
        s.flush()
        rows = [_new_run(cfg, queue, task_id, exp.id, None, owner_id) for cfg, queue, task_id in runs]
        s.add_all(rows)
        s.flush()
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": r.id, "tag": t} for r in rows for t in tag_list])
        return experiment_out(exp, len(rows)), [r.id for r in rows]


# ── reading runs ─────────────────────────────────────────────────────────────────────────────────


def get_run(run_id: int) -> RunOut | None:
    with session() as s:
        run = s.execute(select(*RUN_COLUMNS).where(Run.id == run_id)).first()
        return None if run is None else run_out(run, tags_for(s, [run_id])[run_id])


def get_runs(run_ids: Sequence[int]) -> list[RunOut]:
    """Runs by id, in the order asked (unknown ids are skipped)."""
    with session() as s:
        rows = {r.id: r for r in s.execute(select(*RUN_COLUMNS).where(Run.id.in_(run_ids)))}
        tags = tags_for(s, list(rows))
        return [run_out(rows[i], tags[i]) for i in run_ids if i in rows]


def list_runs(
    *,
    experiment_id: int | None = None,
    status: Sequence[str] | None = None,
    task: str | None = None,
    model: str | None = None,
    method: str | None = None,
    tag: str | None = None,
    seed: int | None = None,
    search: str | None = None,
    owner_id: int | None = None,
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 50,
) -> RunPage:
    """Filtered, sorted, paginated runs with their averages: a count, the page's ids from an index,
    their rows and tags, whatever the page size and the number of runs. Items leave out `summary`
    and `traceback` (None; get_run has them).

    `sort` is a column name from SORTABLE, '-' in front for descending; ties break by id.
    Raises ValueError for an unknown sort key.
    """
    conds = _conditions(
        experiment_id=experiment_id,
        status=status,
        task=task,
        model=model,
        method=method,
        tag=tag,
        seed=seed,
        search=search,
        owner_id=owner_id,
    )
    key = sort.lstrip("-")
    if key not in SORTABLE:
        raise ValueError(f"sort: unknown column '{key}'; allowed: {', '.join(SORTABLE)}")
    page = max(page, 1)
    with session() as s:
        conn = s.connection()  # Core results: no ORM row processing for a thousand rows
        total = _count(conn, conds)
        offset = (page - 1) * page_size
        if conds and conn.dialect.name == "sqlite" and _broad(conn, total, offset + page_size):
            conds = [func.likely(c) for c in conds]
        ids = _page_ids(conn, conds, SORTABLE[key], sort.startswith("-"), offset, page_size)
        found = {r.id: r for r in conn.execute(select(*LIST_COLUMNS).where(Run.id.in_(ids)))} if ids else {}
        rows = [found[i] for i in ids if i in found]
        tags = tags_for(s, ids)
        return RunPage(
            items=[run_out(r, tags[r.id], detail=False) for r in rows],
            total=total,
            page=page,
            page_size=page_size,
        )


def _conditions(
    *,
    experiment_id: int | None = None,
    status: Sequence[str] | None = None,
    task: str | None = None,
    model: str | None = None,
    method: str | None = None,
    tag: str | None = None,
    seed: int | None = None,
    search: str | None = None,
    owner_id: int | None = None,
) -> list[Any]:
    """The WHERE clauses of the runs list's filters (each one an index the list can walk)."""
    conds: list[Any] = []
    if experiment_id is not None:
        conds.append(Run.experiment_id == experiment_id)
    if status:
        conds.append(Run.status.in_(list(status)))
    if task:
        conds.append(Run.task == task)
    if model:
        conds.append(Run.model == model)
    if method:
        conds.append(Run.method == method)
    if seed is not None:
        conds.append(Run.seed == seed)
    if owner_id is not None:
        conds.append(Run.owner_id == owner_id)
    if tag:  # from the tag's index entries, not a probe per run
        conds.append(Run.id.in_(select(RunTag.run_id).where(RunTag.tag == tag)))
    if search:
        pattern = f"%{search}%"
        conds.append(or_(Run.name.ilike(pattern), Run.model.ilike(pattern)))
    return conds


def run_ids_matching(groups: Sequence[Mapping[str, Any]], limit: int = 1000) -> list[list[int]]:
    """For each group of filters (list_runs's keyword arguments), its run ids in id order, at most
    `limit` in all: one indexed query per group, one transaction."""
    found: list[list[int]] = []
    left = limit
    with session() as s:
        conn = s.connection()
        for filters in groups:
            ids = [
                i
                for (i,) in conn.execute(
                    select(Run.id).where(*_conditions(**filters)).order_by(Run.id).limit(left)
                )
            ]
            found.append(ids)
            left -= len(ids)
            if left <= 0:
                break
    return found + [[] for _ in range(len(groups) - len(found))]


def _count(conn: Connection, conds: Sequence[Any]) -> int:
    """Runs matching `conds`: counted along the filter's index, or, unfiltered, the stored total."""
    if not conds:
        stored = conn.execute(select(RunTotal.runs).where(RunTotal.id == 1)).scalar()
        if stored is not None:
            return int(stored)
    return conn.execute(select(func.count()).select_from(Run).where(*conds)).scalar() or 0


def _broad(conn: Connection, matching: int, depth: int) -> bool:
    """Whether walking the sort's index and skipping non-matching runs reaches `depth` rows sooner
    than sorting every match would (depth × runs / matching index entries against `matching` rows).

    SQLite's planner has no statistics (nothing runs ANALYZE) and takes any equality filter for a
    selective one: `method = 'rs_da'` sorted 25,000 runs to show 50 of 100,000 (30 ms). Filters that
    match that broadly are marked likely() so it walks the sort index instead (0.4 ms); PostgreSQL
    chooses from its own statistics.
    """
    return matching * matching > depth * _count(conn, ())


def _page_ids(
    conn: Connection, conds: Sequence[Any], column: Any, desc: bool, offset: int, limit: int
) -> list[int]:
    """The ids of one page, `column` ascending or descending with NULLs last, ties broken by id.

    Only ids: the sort reads the (column, id) index (migration 0006) and the page's rows are fetched
    by primary key afterwards, so no sort ever carries configs and summaries. A nullable column is
    read in two ranges, its values and then its NULLs, because PostgreSQL walks a plain index with
    NULLs first when descending: `ORDER BY average DESC NULLS LAST` would sort every run there.
    """
    by_id = Run.id.desc() if desc else Run.id.asc()
    order = (by_id,) if column is Run.id else ((column.desc() if desc else column.asc()), by_id)
    if not Run.__table__.c[column.key].nullable:
        query = select(Run.id).where(*conds).order_by(*order).offset(offset).limit(limit)
        return list(conn.execute(query).scalars())
    valued = (*conds, column.is_not(None))
    ids = list(
        conn.execute(select(Run.id).where(*valued).order_by(*order).offset(offset).limit(limit)).scalars()
    )
    if len(ids) == limit:
        return ids
    # past the last value come the NULLs, by id; a page that starts among them skips those that
    # earlier pages showed
    skip = 0
    if not ids:
        with_value = conn.execute(select(func.count()).select_from(Run).where(*valued)).scalar() or 0
        skip = max(0, offset - with_value)
    nulls = select(Run.id).where(*conds, column.is_(None)).order_by(by_id).offset(skip)
    return ids + list(conn.execute(nulls.limit(limit - len(ids))).scalars())


def get_scores(run_id: int) -> list[ScoreOut]:
    with session() as s:
        rows = s.execute(
            select(Score.dataset, Score.language, Score.split, Score.metric, Score.value, Score.n)
            .where(Score.run_id == run_id)
            .order_by(Score.dataset, Score.metric, Score.language)
        )
        return [
            ScoreOut(dataset=d, language=lang, split=sp, metric=m, value=v, n=n)
            for d, lang, sp, m, v, n in rows
        ]


def _downsample(n: int, max_points: int) -> list[int]:
    if n <= max_points:
        return list(range(n))
    return sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})


def get_history(
    run_id: int, max_points: int = 1000, names: Sequence[str] | None = None
) -> list[MetricSeries]:
    """A run's (stage, name) series (all, or those in `names`), evenly down-sampled to at most
    `max_points` each, first and last point kept."""
    with session() as s:
        stored = series.read(s, run_id, names)
    out = []
    for x in stored:
        steps, values = x.steps, x.values
        if len(steps) > max_points:
            kept = _downsample(len(steps), max_points)
            steps, values = [steps[i] for i in kept], [values[i] for i in kept]
        out.append(MetricSeries(stage=x.stage, name=x.name, steps=steps, values=values))
    return out


class CompareRun(NamedTuple):
    """What grouping needs of a run (lighter than RunOut: compare stays fast for many runs)."""

    id: int
    task: str
    model: str
    method: str
    seed: int
    config: dict[str, Any]


def compare_inputs(
    run_ids: Sequence[int], metric: str
) -> tuple[list[CompareRun], list[tuple[int, str, str, float]]]:
    """The runs (in the order asked) and their (run_id, dataset, language, value) rows of one metric."""
    with session() as s:
        conn = s.connection()
        found = {r[0]: CompareRun(*r) for r in conn.execute(_COMPARE_RUNS, {"ids": list(run_ids)})}
        rows = conn.execute(_COMPARE_SCORES, {"ids": list(found), "metric": metric}).all()
    return [found[i] for i in run_ids if i in found], [(r, d, lang, v) for r, d, lang, v in rows]


# Built once: a comparison only binds its ids (building the IN expressions cost more than the SQL).
_COMPARE_RUNS = select(Run.id, Run.task, Run.model, Run.method, Run.seed, Run.config).where(
    Run.id.in_(bindparam("ids", expanding=True))
)
_COMPARE_SCORES = select(Score.run_id, Score.dataset, Score.language, Score.value).where(
    Score.run_id.in_(bindparam("ids", expanding=True)), Score.metric == bindparam("metric")
)


def run_ids_of_experiment(experiment_id: int, status: Sequence[str] = ("succeeded",)) -> list[int]:
    with session() as s:
        return list(
            s.scalars(
                select(Run.id)
                .where(Run.experiment_id == experiment_id, Run.status.in_(list(status)))
                .order_by(Run.id)
            )
        )


def list_experiments(limit: int | None = None) -> list[ExperimentOut]:
    """Experiments, newest first (the `limit` newest), with their run counts: one index range of
    runs per experiment, not a count over every run."""
    runs = select(func.count()).where(Run.experiment_id == Experiment.id).scalar_subquery()
    query = select(*Experiment.__table__.c, runs.label("run_count")).order_by(Experiment.id.desc())
    with session() as s:
        rows = s.connection().execute(query if limit is None else query.limit(limit))
        return [experiment_out(row, row.run_count) for row in rows]  # type: ignore[arg-type]


def get_experiment(experiment_id: int) -> ExperimentOut | None:
    with session() as s:
        exp = s.get(Experiment, experiment_id)
        if exp is None:
            return None
        n = s.scalar(select(func.count()).select_from(Run).where(Run.experiment_id == experiment_id)) or 0
        return experiment_out(exp, n)


# ── tags and notes ───────────────────────────────────────────────────────────────────────────────


def set_tags(run_id: int, tags: Iterable[str]) -> list[str]:
    tag_list = sorted({t.strip() for t in tags if t.strip()})
    with session() as s:
        s.execute(delete(RunTag).where(RunTag.run_id == run_id))
        if tag_list:
            s.execute(insert(RunTag), [{"run_id": run_id, "tag": t} for t in tag_list])
    return tag_list


def set_notes(run_id: int, notes: str) -> None:
    with session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(notes=notes))


# Distinct tags by skip scan: each step jumps to the next tag in the (tag, run_id) index, so the cost
# is one index probe per distinct tag, not one per tagged run.
DISTINCT_TAGS = text(
    "WITH RECURSIVE t(tag) AS ("
    " SELECT min(tag) FROM run_tags"
    " UNION ALL SELECT (SELECT min(tag) FROM run_tags WHERE tag > t.tag) FROM t WHERE t.tag IS NOT NULL"
    ") SELECT tag FROM t WHERE tag IS NOT NULL ORDER BY tag LIMIT :limit"
)


def list_tags(limit: int = 1000) -> list[str]:
    """Distinct tags in order, the first `limit`."""
    with session() as s:
        return list(s.connection().execute(DISTINCT_TAGS, {"limit": limit}).scalars())


# ── health ───────────────────────────────────────────────────────────────────────────────────────


def ping() -> None:
    with session() as s:
        s.execute(select(1))


def run_exists(run_id: int) -> bool:
    with session() as s:
        return s.scalar(select(Run.id).where(Run.id == run_id)) is not None
