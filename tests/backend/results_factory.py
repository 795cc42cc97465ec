"""Seeded, synthetic results.json objects for store and API tests (no training)."""

from __future__ import annotations

from typing import Any

from worker.training.config import RunConfig
from worker.training.results import HistoryPoint, RunResult, Score, Summary


def tiny_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "task": "xnli",
        "model": "tiny-bert",
        "data": {"source": "local", "dir": "/data"},
        "train": {"device": "cpu", "seed": 1},
        "eval": {"languages": ["en", "de", "sw", "th"]},
    }
    config.update(overrides)
    return config


def fake_result(config: dict[str, Any], accuracy: dict[str, float], history_steps: int = 0) -> RunResult:
    cfg = RunConfig.model_validate(config)
    scores = [
        Score(dataset="xnli", language=lang, split="test", metric="accuracy", value=value, n=498)
        for lang, value in accuracy.items()
    ]
    history = [
        HistoryPoint(stage="task", step=s, epoch=s / max(history_steps, 1), loss=1.1 - s * 1e-4, lr=2e-5)
        for s in range(1, history_steps + 1)
    ]
    return RunResult(
        config=cfg.model_dump(mode="json"),
        scores=scores,
        summary=Summary(average=sum(accuracy.values()) / len(accuracy)),
        history=history,
    )
