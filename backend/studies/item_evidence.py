"""Item-level tests of one method against the baseline on one aggregate, from the runs' bitsets.

Why a module of its own: deciding which cells can be paired item by item (every run of both sides
has a bitset there, of the same length and, when known, over the same items) is bookkeeping that
would hide the statistics in the report builder. The statistics themselves live in
`item_statistics`; the aggregate's weights come from `tiers`, as for the seed-level numbers.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from backend.studies.item_statistics import mcnemar_test, paired_bootstrap_items, seed_averaged_correctness
from backend.studies.report_models import ItemTest, StudyRun
from backend.studies.tiers import Aggregate, Cell, aggregate_weights
from worker.training.correctness import CorrectnessBits, decode_correctness


def keyed_rng(seed: int, *key: str) -> np.random.Generator:
    """A generator fixed by the study's seed and a stable key, so one comparison's resamples do not
    change when another method is added to the study."""
    return np.random.default_rng([seed, zlib.crc32("|".join(key).encode("utf-8"))])


class CorrectnessCache:
    """Decoded bitsets by (run, dataset, language): each is decoded once per report."""

    def __init__(self) -> None:
        self._decoded: dict[tuple[int, str, str], NDArray[np.bool_]] = {}

    def get(self, run: StudyRun, cell: Cell) -> NDArray[np.bool_]:
        key = (run.run_id, *cell)
        if key not in self._decoded:
            self._decoded[key] = decode_correctness(run.correctness[cell[0]][cell[1]])
        return self._decoded[key]


def _record(run: StudyRun, cell: Cell) -> CorrectnessBits | None:
    return run.correctness.get(cell[0], {}).get(cell[1])


def pairable_cells(runs: Sequence[StudyRun], cells: Sequence[Cell]) -> tuple[list[Cell], list[str]]:
    """Cells where every run has a bitset of one common length and no conflicting item digests,
    and a note for each cell refused because records disagree (missing records are just skipped)."""
    usable, notes = [], []
    for cell in cells:
        records = [_record(r, cell) for r in runs]
        present = [rec for rec in records if rec is not None]
        if len(present) < len(records):
            continue
        digests = {rec.items_digest for rec in present if rec.items_digest is not None}
        if len({rec.n for rec in present}) > 1 or len(digests) > 1:
            notes.append(f"{cell[0]}/{cell[1]}: runs were scored on different test items; no item-level test")
            continue
        usable.append(cell)
    return usable, notes


def item_tests(
    method: str,
    aggregate: Aggregate,
    method_runs: Sequence[StudyRun],
    baseline_runs: Sequence[StudyRun],
    cells: Sequence[Cell],
    source_language: str,
    task_dataset: str,
    cache: CorrectnessCache,
    *,
    seed: int,
    n_resamples: int,
    confidence: float,
) -> list[ItemTest]:
    """The paired bootstrap over the aggregate's pairable cells (seeds averaged per item), and
    McNemar's test on the items pooled over those cells when each side has exactly one run (tiers
    only: the gap is a difference, not a share of items). Empty when nothing can be paired."""
    if not method_runs or not baseline_runs:
        return []
    usable, _ = pairable_cells([*method_runs, *baseline_runs], cells)
    weights = aggregate_weights(aggregate, usable, source_language, task_dataset)
    if not weights:
        return []
    strata = [
        (
            seed_averaged_correctness([cache.get(r, cell) for r in method_runs]),
            seed_averaged_correctness([cache.get(r, cell) for r in baseline_runs]),
        )
        for cell in weights
    ]
    rng = keyed_rng(seed, "items", aggregate)  # the same resamples for every method: common random numbers
    boot = paired_bootstrap_items(strata, rng, n_resamples, confidence, list(weights.values()))
    bootstrap = ItemTest(
        method=method,
        aggregate=aggregate,
        test="paired_bootstrap",
        cells=[f"{d}/{lang}" for d, lang in weights],
        method_runs=len(method_runs),
        baseline_runs=len(baseline_runs),
        n_items=boot.n_items,
        delta=boot.delta,
        ci_low=boot.ci_low,
        ci_high=boot.ci_high,
        p_value=boot.p_value,
        n_resamples=boot.n_resamples,
    )
    if len(method_runs) != 1 or len(baseline_runs) != 1 or aggregate == "transfer_gap":
        return [bootstrap]
    pooled = mcnemar_test(
        np.concatenate([cache.get(method_runs[0], cell) for cell in weights]),
        np.concatenate([cache.get(baseline_runs[0], cell) for cell in weights]),
    )
    mcnemar = bootstrap.model_copy(
        update={
            "test": "mcnemar",
            "delta": pooled.delta,
            "ci_low": None,
            "ci_high": None,
            "p_value": pooled.p_exact,
            "p_mid": pooled.p_mid,
            "method_only": pooled.method_only,
            "baseline_only": pooled.baseline_only,
            "n_resamples": None,
        }
    )
    return [bootstrap, mcnemar]
