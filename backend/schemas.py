"""Plain pydantic objects that the store returns and the API and pages render (never ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, computed_field

from worker.training.config import MAX_SEED, no_nul
from worker.training.results import RunStatus, RunWarning

ExperimentKind = Literal["sweep", "study", "import", "mlflow"]

# ── bounds of what callers send: the lengths of the columns they land in (backend/models.py) ─────

MAX_DB_INT = MAX_SEED  # ids and seeds are INTEGER columns: a larger number is no row (and would raise)
TAG_MAX_LENGTH = 100  # run_tags.tag
NAME_MAX_LENGTH = 200  # runs.name, experiments.name
USER_NAME_MAX_LENGTH = 64  # users.name
TEXT_MAX_LENGTH = 20_000  # notes and descriptions (TEXT columns, but a page shows them whole)
MAX_TAGS = 50  # tags on one run
MAX_PAGE = 100_000  # page numbers of a list (offset = page × page size stays an INTEGER)

Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX_LENGTH),
    AfterValidator(no_nul),
]
Name = Annotated[str, StringConstraints(max_length=NAME_MAX_LENGTH), AfterValidator(no_nul)]
LongText = Annotated[str, StringConstraints(max_length=TEXT_MAX_LENGTH), AfterValidator(no_nul)]


class ExperimentOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    run_count: int = 0
    description: str = ""
    kind: ExperimentKind = "sweep"
    spec: dict[str, Any] | None = None  # sweep: {base, grid}; study: {base, methods, seeds, baseline}


class RunOut(BaseModel):
    """One run as lists and pages show it. `method` is RunConfig.method_label (e.g. 'stsb+rs_da')."""

    id: int
    name: str
    experiment_id: int | None = None
    status: RunStatus
    task: str
    model: str
    method: str
    seed: int
    config: dict[str, Any]
    progress: float = 0.0
    stage: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker_host: str | None = None
    task_id: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    dispatched_at: datetime | None = None  # last send to the broker; None while "waiting for the queue"
    dispatch_error: str | None = None  # why the last send failed
    tags: list[str] = Field(default_factory=list)
    notes: str = ""
    average: float | None = None  # macro average of the task's accuracy over evaluated languages
    summary: dict[str, Any] | None = None  # results.json summary (+ generalized matrix, selected checkpoint)
    warnings: list[RunWarning] = Field(default_factory=list)  # e.g. stuck_at_chance
    owner_id: int | None = None  # who launched it; None without accounts (XLT_AUTH off) or imported
    owner: str | None = None  # that user's name

    @computed_field  # type: ignore[prop-decorator]
    @property
    def waiting_for_queue(self) -> bool:
        """Queued but not (successfully) sent to the broker yet: a dispatcher sends it when it can.
        A retry in flight keeps the last send's error, so it still counts as waiting."""
        return self.status == "queued" and (self.dispatched_at is None or self.dispatch_error is not None)


class RunCreated(BaseModel):
    """A submitted run: queued, and on which queue (`message` says when it waits for the broker)."""

    id: int
    status: RunStatus
    queue: str
    experiment_id: int | None = None
    message: str | None = None


class SweepCreated(BaseModel):
    experiment_id: int
    run_ids: list[int]
    message: str | None = None


class RunPage(BaseModel):
    items: list[RunOut]
    total: int
    page: int
    page_size: int


class ScoreOut(BaseModel):
    dataset: str
    language: str
    split: str
    metric: str
    value: float
    n: int


class MetricSeries(BaseModel):
    stage: str
    name: str  # loss | lr | dev_accuracy …
    steps: list[int]
    values: list[float]


def excludes_zero(low: float | None, high: float | None) -> bool:
    """An interval that exists and does not include 0: the only deltas the pages colour as a change."""
    return low is not None and high is not None and (low > 0.0 or high < 0.0)


class CompareCell(BaseModel):
    """Per group × (dataset, language): mean ± std over the group's seeds, and delta to the baseline
    group with its 95% interval over seeds (None without one: one seed a side, no variation)."""

    group: str
    dataset: str
    language: str
    mean: float
    std: float
    n: int  # number of runs (seeds) with a score
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def delta_is_noise(self) -> bool:
        """True unless the delta's interval excludes 0: such a delta is shown, never coloured."""
        return not excludes_zero(self.ci_low, self.ci_high)


class CompareGroup(BaseModel):
    key: str  # stable label, e.g. 'xnli · xlm-roberta-base · stsb+rs_rp'
    run_ids: list[int]
    seeds: list[int]
    config: dict[str, Any]  # the shared config with train.seed removed


class CompareResult(BaseModel):
    metric: str
    baseline: str | None
    groups: list[CompareGroup]
    languages: list[str]  # column order (dataset languages, then extra datasets')
    cells: list[CompareCell]
    tier_averages: dict[str, dict[str, float | None]]  # group -> tier -> mean over that tier's languages
    average: dict[str, float | None]  # group -> macro average


# ── share links: what a link shows, typed (a view that is not one of these is refused, or, stored
# before they existed, makes the link not work: never a server error) ───────────────────────────────

DbId = Annotated[int, Strict(), Field(ge=1, le=MAX_DB_INT)]  # a JSON integer that can be a row's id
MAX_SHARED_RUNS = 1000
Baseline = Annotated[str, StringConstraints(max_length=1000), AfterValidator(no_nul)]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunView(_View):
    """kind 'run': one run."""

    run_id: DbId


class CompareView(_View):
    """kind 'compare': these runs, grouped by everything but the seed; `baseline` a group key or run:<id>."""

    runs: list[DbId] = Field(min_length=1, max_length=MAX_SHARED_RUNS)
    baseline: Baseline | None = None


class ExperimentViewIn(_View):
    """kind 'experiment', as asked for: an experiment's succeeded runs."""

    experiment_id: DbId
    baseline: Baseline | None = None


class ExperimentView(ExperimentViewIn):
    """kind 'experiment', as stored: frozen to the runs that had succeeded when the link was made
    (runs finishing later are not shown to whoever holds the link)."""

    runs: list[DbId] | None = Field(default=None, max_length=100_000)  # None: made before links froze


ShareView = RunView | CompareView | ExperimentView
SHARE_VIEWS: dict[str, type[RunView | CompareView | ExperimentView]] = {
    "run": RunView,
    "compare": CompareView,
    "experiment": ExperimentView,
}


def parse_share_view(kind: str, view: Any) -> ShareView:
    """The typed view of a link of `kind`; pydantic's ValidationError (or KeyError for an unknown kind)."""
    return SHARE_VIEWS[kind].model_validate(view)


class ShareLinkOut(BaseModel):
    token: str
    kind: str  # run | compare | experiment (SHARE_VIEWS)
    view: ShareView | None  # None: a view stored before views were typed that is none of them
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False
    owner_id: int | None = None  # who made it (None: made without accounts)
    owner: str | None = None


# ── accounts ─────────────────────────────────────────────────────────────────────────────────────

Role = Literal["admin", "member", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)  # most to least: admin manages users, member launches, viewer reads


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    disabled: bool = False
    created_at: datetime


class ApiTokenOut(BaseModel):
    """A token as lists show it: never the token, only its public prefix."""

    id: int
    user_id: int
    user: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Principal(BaseModel):
    """Who is asking. `id` is None only for the implicit local admin of a server without accounts
    (XLT_AUTH off, e.g. the embedded start on 127.0.0.1): there everyone at the keyboard is admin."""

    id: int | None
    name: str
    role: Role
    via: Literal["session", "token", "local"]
