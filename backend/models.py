"""SQLAlchemy 2 models: experiments, runs, scores, per-example correctness, metric series, tags, share
links, users and API tokens, and what MLflow scripts logged as they logged it (params, tags, metric values).

Scores are one row per (run, dataset, language, split, metric): per-language charts, grouping and
deltas stay plain SQL. Metric series (thousands of points a run) are stored packed, a few rows a
run. Every child table is indexed by run first, so one run's rows are one index range however large
the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # What made it: "sweep" (a grid), "study" (methods × seeds with a report), "import" or "mlflow".
    kind: Mapped[str] = mapped_column(String(16), default="sweep", server_default="sweep")
    # sweep: {base, grid}; study: {base, methods, seeds, baseline} (backend.services.studies)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Sort keys of the runs list (backend.store.common.SORTABLE but the primary key): each gets an
# index (column, id), id breaking ties.
SORTED_COLUMNS = (
    "created_at",
    "started_at",
    "finished_at",
    "status",
    "task",
    "model",
    "method",
    "seed",
    "name",
    "progress",
    "average",
)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    retry_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Denormalised from the config for filters and sorting without parsing JSON.
    task: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(500))
    method: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker_host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far; the owning attempt's number
    # The queue of record: when the run's task was last sent (None: not sent yet, "waiting for the queue")
    # and why the last send failed.
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dispatch_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    average: Mapped[float | None] = mapped_column(Float, nullable=True)  # task accuracy, mean over languages
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # results.json `warnings`: [{code, message}] (e.g. stuck_at_chance); NULL before a result is stored.
    warnings: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    # Who launched it; NULL for runs of a server without accounts (XLT_AUTH off) and for imports.
    # Users are disabled, never deleted, so no ON DELETE rule is needed (or kept: see migration 0002).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)

    __table_args__ = (
        Index("ix_runs_model_method", "model", "method"),
        Index("ix_runs_status_heartbeat_at", "status", "heartbeat_at"),  # the reaper's scan
        Index("ix_runs_status_dispatched_at", "status", "dispatched_at"),  # the dispatcher's scan
        # Every column the runs list sorts by (backend.store.common.SORTABLE), with the id that breaks
        # ties: the first page of any sort is an index range, however many runs there are (0006).
        *(Index(f"ix_runs_{column}_id", column, "id") for column in SORTED_COLUMNS),
    )


class RunTotal(Base):
    """How many runs there are: one row (id 1) that triggers on `runs` keep current (migration 0006),
    so the runs list's total costs one row read instead of a count over every run (PostgreSQL counts
    100,000 index entries for it)."""

    __tablename__ = "run_totals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    runs: Mapped[int] = mapped_column(Integer)


class Score(Base):
    __tablename__ = "scores"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    split: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)


class RunCorrectness(Base):
    """Which test items a run got right on one (dataset, language, split): a bitset in base64
    (worker.training.correctness.CorrectnessBits), so studies can test methods on the same items."""

    __tablename__ = "run_correctness"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    split: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    bits: Mapped[str] = mapped_column(Text)
    items_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MetricChunk(Base):
    """A piece of one of a run's metric series (loss, lr, an MLflow script's stepped metric), packed
    (backend.metric_codec): a worker appends one chunk per series per progress write, and a finished
    run's chunks are merged into one per series. The series is its chunks in id order."""

    __tablename__ = "metric_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    n: Mapped[int] = mapped_column(Integer)  # points in the chunk
    min_step: Mapped[int] = mapped_column(BigInteger)
    max_step: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_metric_chunks_run_series", "run_id", "name", "stage", "id"),)


class RunTag(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)

    # A tag's runs straight from the index (the runs list's tag filter; distinct tags by skip scan).
    __table_args__ = (Index("ix_run_tags_tag_run_id", "tag", "run_id"),)


class ShareLink(Base):
    __tablename__ = "share_links"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)


class User(Base):
    """An account: logs in at /login (argon2id `password_hash`) and owns API tokens, runs and links."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | member | viewer (backend.schemas.ROLES)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A script's credential: only the SHA-256 of the token is kept; `prefix` names it in lists."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# ── what MLflow scripts logged, verbatim (backend.services.mlflow_compat) ────────────────────────
# The run's XLT view (config, scores, history, status) is derived from these; they keep what the
# script sent as it sent it, for MLflow's own reads (runs/get, metrics/get-history) and the run page.


class MlflowParam(Base):
    """A param of a run logged through the MLflow API (immutable once logged, as in MLflow)."""

    __tablename__ = "mlflow_params"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MlflowTag(Base):
    """A tag (key → value) of a run logged through the MLflow API, `mlflow.*` system tags included."""

    __tablename__ = "mlflow_tags"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MlflowMetric(Base):
    """One logged metric value. `value` NULL is NaN (SQLite stores NaN as NULL; MLflow allows it)."""

    __tablename__ = "mlflow_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)  # milliseconds since the epoch
    step: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_mlflow_metrics_run_key_step", "run_id", "key", "step"),)
