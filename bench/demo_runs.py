"""Synthetic finished runs for the dashboard benchmark and page tests: realistic configs, per-language
scores that fall with resource level, loss curves — written through the store like the worker does."""

from __future__ import annotations

import random
from typing import Literal

from backend import store
from worker.training.config import RunConfig
from worker.training.languages import DATASET_LANGUAGES, language
from worker.training.results import HistoryPoint, RunResult, Score, Summary

METHODS = ("none", "rs_da", "rs_rp", "adv")
MODELS = ("xlm-roberta-base", "bert-base-multilingual-cased")
TIER_BASE = {"high": 0.74, "mid": 0.68, "low": 0.6}
METHOD_GAIN = {"none": 0.0, "rs_da": 0.012, "rs_rp": 0.008, "adv": 0.015}


def demo_result(config: RunConfig, rng: random.Random) -> RunResult:
    langs = config.eval_languages
    scores = []
    for code in langs:
        base = 0.84 if code == config.source_language else TIER_BASE[language(code).tier]
        value = min(0.95, base + METHOD_GAIN[config.robust.method] + rng.gauss(0, 0.01))
        scores.append(
            Score(dataset=config.task, language=code, split="test", metric="accuracy", value=value, n=500)
        )
    src = next(s.value for s in scores if s.language == config.source_language)
    targets = [s.value for s in scores if s.language != config.source_language]
    tiers: dict[str, list[float]] = {}
    for s in scores:
        tiers.setdefault(language(s.language).tier, []).append(s.value)
    history = [
        HistoryPoint(stage="task", step=10 * i, epoch=i / 10, loss=0.03 * rng.random() + 0.97**i, lr=2e-5)
        for i in range(1, 41)
    ]
    return RunResult(
        config=config.model_dump(mode="json"),
        scores=scores,
        summary=Summary(
            average=sum(s.value for s in scores) / len(scores),
            by_resource_tier={t: sum(v) / len(v) for t, v in tiers.items()},
            transfer_gap=src - sum(targets) / len(targets) if targets else None,
        ),
        history=history,
    )


def seed_runs(n: int, seed: int = 0, task: str = "xnli", name_prefix: str = "demo") -> list[int]:
    """n finished runs over models × methods × seeds; returns their ids."""
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        method = METHODS[i % len(METHODS)]
        config = RunConfig.model_validate(
            {
                "name": f"{name_prefix}-{method}-s{i // len(METHODS) % 5 + 1}",
                "task": task,
                "model": MODELS[(i // 20) % len(MODELS)],
                "robust": {"method": method},
                "train": {"seed": i // len(METHODS) % 5 + 1},
                "eval": {"languages": list(DATASET_LANGUAGES[task])},
            }
        )
        tags = ["demo"] if i % 3 == 0 else []
        run = store.create_run(config, queue="cpu", task_id=f"demo-{seed}-{i}", tags=tags)
        store.complete_run(run.id, demo_result(config, rng), include_history=True)
        ids.append(run.id)
    return ids


def seed_full_run(seed: int = 0) -> int:
    """One XNLI run on all 15 languages plus AmericasNLI (25 bars), with the generalized L×L matrix."""
    from worker.training.results import GeneralizedMatrix

    rng = random.Random(seed)
    config = RunConfig.model_validate(
        {
            "name": "full evaluation",
            "task": "xnli",
            "model": "xlm-roberta-large",
            "intermediate": {"task": "stsb"},
            "robust": {"method": "rs_da"},
            "eval": {"extra": ["americasnli"], "generalized": True},
        }
    )
    result = demo_result(config, rng)
    for code in DATASET_LANGUAGES["americasnli"]:
        value = 0.38 + rng.random() * 0.1
        result.scores.append(
            Score(dataset="americasnli", language=code, split="test", metric="accuracy", value=value, n=750)
        )
    langs = list(DATASET_LANGUAGES["xnli"])
    result.generalized = GeneralizedMatrix(
        dataset="xnli",
        languages=langs,
        accuracy=[[0.45 + 0.3 * (a == b) + 0.1 * rng.random() for b in langs] for a in langs],
        n=500,
    )
    stages: tuple[tuple[Literal["intermediate", "task"], float], ...] = (("intermediate", 4.0), ("task", 1.1))
    result.history = [
        HistoryPoint(
            stage=stage, step=10 * i, epoch=i / 10, loss=base * 0.96**i + 0.05 * rng.random(), lr=2e-5
        )
        for stage, base in stages
        for i in range(1, 31)
    ]
    run = store.create_run(config, queue="gpu", task_id=f"demo-full-{seed}")
    store.complete_run(run.id, result, include_history=True)
    return run.id
