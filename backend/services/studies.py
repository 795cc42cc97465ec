"""Studies: one submit makes an experiment of kind `study` with a run for every method × seed, and its
report answers the research question with statistics (backend.studies).

    submit_study         validate the base config, methods and seeds; store and send every run
    study_report         the StudyReport of an experiment's finished runs (cached until they change)
    experiment_overview  what /experiments/{id} shows: progress over the method × seed grid, the report

Rules the report applies on top of the statistics: only finished runs enter it (queued and running
ones are counted in a note); runs whose warnings carry the stuck-at-chance code (or say "did not
learn") are excluded and listed, and the rule is the report's first (`report.rules`).

The statistics import scipy.stats; `study_report` imports them on first use, so the API process
starts without them (tests/xlt/test_serve.py keeps it small).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend import store
from backend.errors import Conflict, Invalid
from backend.run_configs import MAX_SWEEP_RUNS, ConfigError, validate_config
from backend.schemas import ExperimentOut, Principal, SweepCreated
from backend.services.experiments import get_experiment
from backend.services.permissions import require_role
from backend.services.runs import launch_experiment
from backend.settings import get_settings
from backend.studies.report_models import StudyReport, StudyRun
from worker.training.config import METHOD_LABELS, RunConfig, label_for_method
from worker.training.correctness import CorrectnessBits
from worker.training.results import ACTIVE_STATUSES, FINISHED_STATUSES, RUN_STATUSES, STUCK_AT_CHANCE

BASELINE = "baseline"
# The paper's grid (Huang et al. 2021 with STILTs): intermediate ∈ {none, stsb} × robust ∈ {none,
# rs_da, rs_rp, adv}, i.e. every method label a run can have.
PAPER_METHODS: tuple[str, ...] = METHOD_LABELS
DEFAULT_SEEDS: tuple[int, ...] = (1, 2, 3)  # the fewest seeds a verdict accepts (report.min_seeds)
MAX_SEEDS = 50
# Method label → (intermediate task or None, robust method), the inverse of label_for_method.
METHOD_PARTS: dict[str, tuple[str | None, str]] = {
    label_for_method(stage, robust): (stage, robust)  # type: ignore[arg-type]
    for stage in (None, "stsb")
    for robust in ("none", "rs_da", "rs_rp", "adv")
}
EXCLUDE_MARKERS = (STUCK_AT_CHANCE, "did not learn")  # a warning with either is a run that did not learn

# ── submitting ───────────────────────────────────────────────────────────────────────────────────


def _check_methods(methods: Sequence[str] | None) -> list[str]:
    chosen = list(PAPER_METHODS if methods is None else methods)
    if not chosen:
        raise Invalid("methods: give at least the baseline and one method")
    unknown = [m for m in chosen if m not in METHOD_PARTS]
    if unknown:
        names = ", ".join(repr(m) for m in unknown)
        raise Invalid(f"methods: unknown method {names}; allowed: {', '.join(PAPER_METHODS)}")
    repeated = sorted({m for m in chosen if chosen.count(m) > 1})
    if repeated:
        raise Invalid(f"methods: {', '.join(repeated)} given more than once")
    if BASELINE not in chosen:
        raise Invalid(f"methods: a study compares every method with '{BASELINE}'; include it")
    if len(chosen) < 2:
        raise Invalid(f"methods: '{BASELINE}' alone compares nothing; add a method")
    return [BASELINE, *(m for m in chosen if m != BASELINE)]


def _check_seeds(seeds: Sequence[int] | None) -> list[int]:
    chosen = list(DEFAULT_SEEDS if seeds is None else seeds)
    if not chosen:
        raise Invalid("seeds: give at least one seed")
    if len(chosen) > MAX_SEEDS:
        raise Invalid(f"seeds: at most {MAX_SEEDS}")
    bad = [s for s in chosen if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= 2**32 - 1]
    if bad:
        raise Invalid(f"seeds: {', '.join(map(str, bad))} is not a seed (a whole number from 0 to 2^32 - 1)")
    repeated = sorted({s for s in chosen if chosen.count(s) > 1})
    if repeated:
        raise Invalid(f"seeds: {', '.join(map(str, repeated))} given more than once")
    return chosen


def study_config(base: Mapping[str, Any], method: str, seed: int, name: str) -> dict[str, Any]:
    """The base config as `method` with `seed`: the intermediate stage on or off (the base's STS-B
    settings when it has them), the robust method set, every other setting kept."""
    stage, robust = METHOD_PARTS[method]
    config = copy.deepcopy(dict(base))
    config["name"] = f"{name}: {method}, seed {seed}"[:200]
    config["intermediate"] = (base.get("intermediate") or {"task": stage}) if stage else None
    config["robust"] = {**(base.get("robust") or {}), "method": robust}
    config["train"] = {**(base.get("train") or {}), "seed": seed}
    return config


def study_configs(
    base: Mapping[str, Any], methods: Sequence[str], seeds: Sequence[int], name: str
) -> list[RunConfig]:
    """Every run of the study, seed by seed (seed 1 of every method first, so the first paired
    comparison is ready early); all validated before any is stored."""
    if len(methods) * len(seeds) > MAX_SWEEP_RUNS:
        raise Invalid(f"methods × seeds: {len(methods) * len(seeds)} runs; a study may have {MAX_SWEEP_RUNS}")
    data_dir = get_settings().data_dir
    try:
        validate_config(dict(base), data_dir)
    except ConfigError as exc:
        raise ConfigError(
            f"base.{exc.message}" if not exc.message.startswith("config") else exc.message
        ) from exc
    configs = []
    for seed in seeds:
        for method in methods:
            try:
                configs.append(validate_config(study_config(base, method, seed, name), data_dir))
            except ConfigError as exc:
                raise ConfigError(f"runs ({method}, seed {seed}): {exc.message}") from exc
    return configs


def submit_study(
    *,
    actor: Principal,
    name: str = "study",
    base: Mapping[str, Any],
    methods: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    description: str = "",
    tags: Sequence[str] = (),
) -> SweepCreated:
    """One experiment of kind `study` with a queued run per method × seed (methods default to the
    paper's grid, seeds to 1, 2, 3). Raises Forbidden below the member role and Invalid naming the
    field (nothing stored)."""
    require_role(actor, "member", "launching a study")
    if not isinstance(base, Mapping):
        raise Invalid("base: must be a JSON object (a run config)")
    name = name.strip() or "study"
    chosen_methods, chosen_seeds = _check_methods(methods), _check_seeds(seeds)
    configs = study_configs(base, chosen_methods, chosen_seeds, name)
    spec = {"base": dict(base), "methods": chosen_methods, "seeds": chosen_seeds, "baseline": BASELINE}
    return launch_experiment(name, description, spec, configs, kind="study", tags=tags, owner_id=actor.id)


# ── the report ───────────────────────────────────────────────────────────────────────────────────

_cache: dict[tuple[str, int], tuple[store.StudyState, StudyReport]] = {}
_cache_lock = threading.Lock()
CACHED_REPORTS = 32


def _baseline(experiment: ExperimentOut) -> str:
    return str((experiment.spec or {}).get("baseline", BASELINE))


def _split(experiment: ExperimentOut) -> str:
    base = (experiment.spec or {}).get("base") or {}
    return str((base.get("eval") or {}).get("split") or "test")


def _warning_texts(warnings: Sequence[Mapping[str, str]]) -> list[str]:
    return [f"{w.get('message', '')} ({w.get('code', 'warning')})" for w in warnings]


def study_runs_of(inputs: store.StudyInputs) -> list[StudyRun]:
    """The statistics' inputs from the store's rows: finished runs with their accuracy per
    (dataset, language) and their bitsets."""
    scores: dict[int, dict[str, dict[str, float]]] = {}
    for run_id, dataset, language, value in inputs.scores:
        scores.setdefault(run_id, {}).setdefault(dataset, {})[language] = value
    bits: dict[int, dict[str, dict[str, CorrectnessBits]]] = {}
    for run_id, dataset, language, n, encoded, digest in inputs.correctness:
        record = CorrectnessBits.model_construct(n=n, bits=encoded, items_digest=digest)  # stored valid
        bits.setdefault(run_id, {}).setdefault(dataset, {})[language] = record
    return [
        StudyRun(
            run_id=r.id,
            method=r.method,
            seed=r.seed,
            task=r.task,
            source_language=r.source_language,
            status=r.status,
            warnings=_warning_texts(r.warnings),
            scores=scores.get(r.id, {}),
            correctness=bits.get(r.id, {}),
        )
        for r in inputs.runs
        if r.status in FINISHED_STATUSES
    ]


def study_report(experiment_id: int) -> StudyReport:
    """The report of the experiment's finished runs against its baseline. Built again only when a
    run was added or finished since (the report is shared: read it, do not change it).

    Raises NotFound for an unknown experiment, Conflict for an experiment that is not a study (its
    runs may differ in more than the method: the report would merge them), when no run has finished
    yet or when the runs cannot be compared (no baseline run, mixed tasks or source languages)."""
    experiment = get_experiment(experiment_id)
    if experiment.kind != "study":
        raise Conflict(
            f"experiment {experiment_id} is a {experiment.kind}, not a study: a report compares the "
            f"methods of a study; compare these runs at /compare?experiment={experiment_id}"
        )
    state = store.study_state(experiment_id)
    key = (get_settings().database_url, experiment_id)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == state:
        return cached[1]
    inputs = store.study_inputs(experiment_id, _split(experiment))
    report = _build(experiment, inputs)
    with _cache_lock:
        if len(_cache) >= CACHED_REPORTS:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (state, report)
    return report


def _build(experiment: ExperimentOut, inputs: store.StudyInputs) -> StudyReport:
    from backend.studies.report import build_study_report  # scipy.stats: loaded on the first report

    runs = study_runs_of(inputs)
    if not runs:
        raise Conflict(f"experiment {experiment.id}: no run has finished yet")
    try:
        report = build_study_report(runs, _baseline(experiment), exclude_warnings=EXCLUDE_MARKERS)
    except ValueError as exc:
        raise Conflict(f"experiment {experiment.id}: {exc}") from exc
    pending = sum(r.status in ACTIVE_STATUSES for r in inputs.runs)
    if pending:
        report.notes.insert(
            0,
            f"{pending} run(s) still queued or running are not in this report yet; it updates as they finish",
        )
    return report


# ── the experiment page ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GridCell:
    """One method × seed of the grid: its runs (a retry adds one), the latest last."""

    runs: list[store.StudyRunRow]

    @property
    def latest(self) -> store.StudyRunRow:
        return self.runs[-1]

    @property
    def stuck(self) -> bool:
        return any(is_stuck(r) for r in self.runs if r.status == "succeeded")


@dataclass(frozen=True)
class StudyProgress:
    """How far the experiment's runs are: counts per status and the method × seed grid."""

    total: int
    counts: dict[str, int]
    methods: list[str]
    seeds: list[int]
    grid: dict[tuple[str, int], GridCell]
    stuck: list[store.StudyRunRow] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return sum(self.counts[s] for s in FINISHED_STATUSES)


@dataclass(frozen=True)
class ExperimentOverview:
    experiment: ExperimentOut
    progress: StudyProgress
    report: StudyReport | None = None
    report_problem: str | None = None  # why there is no report (yet)


def is_stuck(run: store.StudyRunRow) -> bool:
    return any(
        w.get("code") == STUCK_AT_CHANCE or "did not learn" in w.get("message", "") for w in run.warnings
    )


def study_progress(experiment: ExperimentOut, runs: Sequence[store.StudyRunRow]) -> StudyProgress:
    spec = experiment.spec or {}
    planned_methods = [str(m) for m in spec.get("methods", [])] if experiment.kind == "study" else []
    planned_seeds = [int(s) for s in spec.get("seeds", [])] if experiment.kind == "study" else []
    methods = list(dict.fromkeys([*planned_methods, *(r.method for r in runs)]))
    seeds = sorted(set(planned_seeds) | {r.seed for r in runs})
    grid: dict[tuple[str, int], GridCell] = {}
    for run in runs:
        grid.setdefault((run.method, run.seed), GridCell([])).runs.append(run)
    counts: dict[str, int] = dict.fromkeys(RUN_STATUSES, 0)
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    stuck = [r for r in runs if r.status == "succeeded" and is_stuck(r)]
    return StudyProgress(len(runs), counts, methods, seeds, grid, stuck)


def experiment_overview(experiment_id: int) -> ExperimentOverview:
    """The experiment, its progress, and its report once a baseline run and another have finished."""
    experiment = get_experiment(experiment_id)
    progress = study_progress(experiment, store.study_runs(experiment_id))
    try:
        report = study_report(experiment_id)
    except Conflict as exc:
        return ExperimentOverview(experiment, progress, None, exc.message)
    return ExperimentOverview(experiment, progress, report)
