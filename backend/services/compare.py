"""Comparing runs: the one use case behind /api/compare, the compare page, its exports and shared
comparisons. Runs are named by id and/or by experiment (its succeeded runs); the grouping itself is
the pure backend.compare.build_compare."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backend import store
from backend.compare import build_compare, pick_baseline
from backend.errors import Invalid, NotFound
from backend.schemas import CompareResult

MAX_MATCHED_RUNS = 1000  # the most runs named by filters in one comparison


class NothingToCompare(Invalid):
    """No run ids given and none found in the experiment (the compare page shows how to pick runs)."""


def compare_runs(
    run_ids: Sequence[int] = (),
    *,
    experiment_id: int | None = None,
    matches: Sequence[Mapping[str, Any]] = (),
    baseline: str | None = None,
    metric: str = "accuracy",
    default_baseline: bool = False,
) -> CompareResult:
    """Group the runs by everything but the seed; mean ± std (n) per language and deltas to `baseline`
    (a group key, or 'run:<id>' naming a run of the baseline group).

    `default_baseline` picks the first plain run's group when no baseline is given (the page does;
    the API leaves deltas out). Raises NotFound for an unknown run or experiment, NothingToCompare
    when there is no run at all. `matches` adds groups of runs named by filters (store.list_runs's
    keyword arguments; backend.run_matches parses them from a query string): a group that matches
    nothing is an error naming it, not an empty group.
    """
    ids = list(dict.fromkeys(run_ids))
    if experiment_id is not None:
        if store.get_experiment(experiment_id) is None:
            raise NotFound(f"experiment {experiment_id} not found")
        ids += [i for i in store.run_ids_of_experiment(experiment_id) if i not in ids]
    if matches:
        ids += _matched_run_ids(matches, seen=set(ids))
    if not ids:
        raise NothingToCompare("runs: give at least one run id (or experiment)")
    runs, scores = store.compare_inputs(ids, metric)
    missing = sorted(set(ids) - {r.id for r in runs})
    if missing:
        raise NotFound(f"runs not found: {', '.join(map(str, missing))}")
    if baseline is None and default_baseline:
        baseline = pick_baseline(runs)
    return build_compare(runs, scores, metric, baseline or None)


def _matched_run_ids(matches: Sequence[Mapping[str, Any]], seen: set[int]) -> list[int]:
    """The runs of each group named by filters, in group order, those in `seen` left out."""
    found = store.run_ids_matching(matches, limit=MAX_MATCHED_RUNS + 1)
    if sum(map(len, found)) > MAX_MATCHED_RUNS:
        raise Invalid(f"match: the groups hold more than {MAX_MATCHED_RUNS} runs; narrow them")
    for number, group in enumerate(found, start=1):
        if not group:
            raise NotFound(f"match {number}: no runs match")
    ids = []
    for run_id in (i for group in found for i in group):
        if run_id not in seen:
            seen.add(run_id)
            ids.append(run_id)
    return ids
