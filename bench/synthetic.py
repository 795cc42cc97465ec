"""The synthetic lab the side-by-side, growth and load benchmarks share: finished XNLI runs over
2 task variants (direct, STS-B intermediate) × 4 methods × 3 seeds × as many models as needed.

Each run has the 15 XNLI test accuracies (falling with the language's resource tier, a little gain
per method, seed noise) and a loss curve of `points` steps with its learning rate. Run `i` is the
same in every benchmark (seeded by its index), and consecutive runs differ first by seed, so any 3
consecutive runs from a multiple of 3 are one group of a comparison.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from worker.training.languages import DATASET_LANGUAGES, language

LANGUAGES = DATASET_LANGUAGES["xnli"]  # 15
VARIANTS = ("direct", "stsb")
METHODS = ("none", "rs_da", "rs_rp", "adv")
SEEDS = (1, 2, 3)
PER_MODEL = len(VARIANTS) * len(METHODS) * len(SEEDS)  # 24 runs per model
TIER_BASE = {"high": 0.74, "mid": 0.68, "low": 0.6}
METHOD_GAIN = {"none": 0.0, "rs_da": 0.012, "rs_rp": 0.008, "adv": 0.015}
LEARNING_RATE = 2e-5


@dataclass(frozen=True)
class SyntheticRun:
    index: int
    variant: str  # direct | stsb
    model: str
    method: str  # robust method: none | rs_da | rs_rp | adv
    seed: int
    accuracy: dict[str, float]  # language → test accuracy
    loss: list[float]  # steps 1..points
    lr: list[float]

    @property
    def label(self) -> str:
        """XLT Lab's method label (RunConfig.method_label): 'baseline', 'rs_da', 'stsb+adv' …"""
        parts = (["stsb"] if self.variant == "stsb" else []) + (
            [] if self.method == "none" else [self.method]
        )
        return "+".join(parts) or "baseline"

    @property
    def average(self) -> float:
        return sum(self.accuracy.values()) / len(self.accuracy)


def grid(index: int) -> tuple[str, str, str, int]:
    """(variant, model, method, seed) of run `index`: seed fastest, then method, variant, model."""
    seed = SEEDS[index % 3]
    method = METHODS[index // 3 % 4]
    variant = VARIANTS[index // 12 % 2]
    return variant, f"lab/encoder-{index // PER_MODEL:05d}", method, seed


def make_run(index: int, points: int = 1000) -> SyntheticRun:
    variant, model, method, seed = grid(index)
    rng = random.Random(index)
    model_gain = random.Random(index // PER_MODEL).uniform(-0.03, 0.03)
    accuracy = {}
    for code in LANGUAGES:
        base = 0.84 if code == "en" else TIER_BASE[language(code).tier]
        gain = METHOD_GAIN[method] + (0.01 if variant == "stsb" else 0.0) + model_gain
        accuracy[code] = round(min(0.95, base + gain + rng.gauss(0, 0.01)), 6)
    loss = [round(0.35 + 0.75 * math.exp(-s / 250) + 0.05 * rng.random(), 6) for s in range(1, points + 1)]
    lr = [LEARNING_RATE * (1 - s / (points + 1)) for s in range(1, points + 1)]
    return SyntheticRun(index, variant, model, method, seed, accuracy, loss, lr)


def xlt_config(run: SyntheticRun) -> dict[str, Any]:
    """The run's XLT Lab config (a RunConfig as JSON; defaults filled in by validation)."""
    return {
        "name": f"{run.model.split('/')[-1]}-{run.label}-s{run.seed}",
        "task": "xnli",
        "model": run.model,
        "intermediate": {"task": "stsb"} if run.variant == "stsb" else None,
        "robust": {"method": run.method},
        "train": {"seed": run.seed, "learning_rate": LEARNING_RATE, "epochs": 2, "device": "cpu"},
    }


def summary(run: SyntheticRun) -> dict[str, Any]:
    """results.json's summary: average, tier averages (targets only), transfer gap."""
    tiers: dict[str, list[float]] = {}
    for code, value in run.accuracy.items():
        if code != "en":
            tiers.setdefault(language(code).tier, []).append(value)
    targets = [v for code, v in run.accuracy.items() if code != "en"]
    return {
        "average": run.average,
        "by_resource_tier": {t: sum(v) / len(v) for t, v in tiers.items()},
        "transfer_gap": run.accuracy["en"] - sum(targets) / len(targets),
    }


def xlt_results_json(run: SyntheticRun) -> dict[str, Any]:
    """What `xlt train --out DIR` would have written for this run (results.json as a dict)."""
    n = len(run.loss)
    return {
        "config": xlt_config(run),
        "status": "succeeded",
        "scores": [
            {
                "dataset": "xnli",
                "language": code,
                "split": "test",
                "metric": "accuracy",
                "value": v,
                "n": 5010,
            }
            for code, v in run.accuracy.items()
        ],
        "summary": summary(run),
        "history": [
            {"stage": "task", "step": s + 1, "epoch": 2 * (s + 1) / n, "loss": run.loss[s], "lr": run.lr[s]}
            for s in range(n)
        ],
    }


def mlflow_params(run: SyntheticRun) -> dict[str, str]:
    """What an MLflow user logs as params for the same run (HF-style names)."""
    return {
        "task": "xnli",
        "model": run.model,
        "intermediate": "stsb" if run.variant == "stsb" else "none",
        "method": run.method,
        "seed": str(run.seed),
        "learning_rate": str(LEARNING_RATE),
        "epochs": "2",
        "batch_size": "32",
        "max_seq_len": "128",
        "source_language": "en",
    }
