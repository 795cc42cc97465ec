"""Constructed studies: runs whose scores and per-item correctness come from a known model, so a
report can be checked against the effect that was planted.

Each (dataset, language) cell has a fixed set of test items with a shared difficulty; a run with
accuracy p gets right the round(p·n) items that are easiest *for it* (the shared difficulty plus
its own jitter), so runs of different methods agree on most items, as real models do, and a run's
score is exactly the share of its correct items. A run's accuracy is the cell's base accuracy plus
the planted effect plus noise: one part shared by every method with the same seed (a seed fixes
data order and head initialisation), one part the run's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pytest

from backend.studies.report import build_study_report
from backend.studies.report_models import StudyReport, StudyRun
from worker.training.correctness import encode_correctness
from worker.training.languages import DATASET_LANGUAGES

MakeRuns = Callable[..., list[StudyRun]]
CELLS = [(d, lang) for d in ("xnli", "americasnli") for lang in DATASET_LANGUAGES[d]]
LOW = ["sw", *DATASET_LANGUAGES["americasnli"]]  # the low-resource target languages of CELLS


def _base_accuracy(dataset: str, language: str) -> float:
    if language == "en":
        return 0.80
    return 0.45 if dataset == "americasnli" else 0.62


def make_study_runs(
    effects: Mapping[str, Mapping[str, float]],
    seeds: Sequence[int],
    *,
    generator_seed: int = 0,
    n_items: int = 300,
    with_bits: bool = True,
    shared_sd: float = 0.008,
    own_sd: float = 0.004,
) -> list[StudyRun]:
    """Runs of every method in `effects` (method → language → accuracy added; absent = 0) × seeds."""
    rng = np.random.default_rng(generator_seed)
    difficulty = {cell: rng.random(n_items) for cell in CELLS}
    shared = {(seed, cell): rng.normal(0.0, shared_sd) for seed in seeds for cell in CELLS}
    runs: list[StudyRun] = []
    for method, effect in effects.items():
        for seed in seeds:
            scores: dict[str, dict[str, float]] = {}
            bits: dict[str, dict[str, object]] = {}
            for d, lang in CELLS:
                p = _base_accuracy(d, lang) + effect.get(lang, 0.0) + shared[(seed, (d, lang))]
                p += rng.normal(0.0, own_sd)
                order = np.argsort(difficulty[(d, lang)] + rng.normal(0.0, 0.25, n_items))
                correct = np.zeros(n_items, dtype=bool)
                correct[order[: int(round(np.clip(p, 0, 1) * n_items))]] = True
                scores.setdefault(d, {})[lang] = float(correct.mean())
                if with_bits:
                    bits.setdefault(d, {})[lang] = encode_correctness(correct)
            runs.append(
                StudyRun.model_validate(
                    {
                        "run_id": len(runs) + 1,
                        "method": method,
                        "seed": seed,
                        "task": "xnli",
                        "scores": scores,
                        "correctness": bits,
                    }
                )
            )
    return runs


@pytest.fixture
def make_runs() -> MakeRuns:
    return make_study_runs


PLANTED: dict[str, dict[str, float]] = {"baseline": {}, "rs_rp": dict.fromkeys(LOW, 0.03), "stsb": {}}
NULL: dict[str, dict[str, float]] = {"baseline": {}, "rs_rp": {}, "stsb": {}, "rs_da": {}}


@pytest.fixture(scope="module")
def planted_report() -> StudyReport:
    """rs_rp: +3 points on sw and AmericasNLI's languages only, 5 seeds; stsb: no effect."""
    return build_study_report(make_study_runs(PLANTED, range(1, 6)), "baseline", item_resamples=500)
