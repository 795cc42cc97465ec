"""Comparing runs: the one use case behind /api/compare, the compare page, its exports and shared
comparisons. Runs are named by id and/or by experiment (its succeeded runs); the grouping itself is
the pure backend.compare.build_compare."""

from __future__ import annotations

from collections.abc import Sequence

from backend import store
from backend.compare import build_compare, pick_baseline
from backend.errors import Invalid, NotFound
from backend.schemas import CompareResult


class NothingToCompare(Invalid):
    """No run ids given and none found in the experiment (the compare page shows how to pick runs)."""


def compare_runs(
    run_ids: Sequence[int] = (),
    *,
    experiment_id: int | None = None,
    baseline: str | None = None,
    metric: str = "accuracy",
    default_baseline: bool = False,
) -> CompareResult:
    """Group the runs by everything but the seed; mean ± std (n) per language and deltas to `baseline`
    (a group key, or 'run:<id>' naming a run of the baseline group).

    `default_baseline` picks the first plain run's group when no baseline is given (the page does;
    the API leaves deltas out). Raises NotFound for an unknown run or experiment, NothingToCompare
    when there is no run at all.
    """
    ids = list(dict.fromkeys(run_ids))
    if experiment_id is not None:
        if store.get_experiment(experiment_id) is None:
            raise NotFound(f"experiment {experiment_id} not found")
        ids += [i for i in store.run_ids_of_experiment(experiment_id) if i not in ids]
    if not ids:
        raise NothingToCompare("runs: give at least one run id (or experiment)")
    runs, scores = store.compare_inputs(ids, metric)
    missing = sorted(set(ids) - {r.id for r in runs})
    if missing:
        raise NotFound(f"runs not found: {', '.join(map(str, missing))}")
    if baseline is None and default_baseline:
        baseline = pick_baseline(runs)
    return build_compare(runs, scores, metric, baseline or None)
