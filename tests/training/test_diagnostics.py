"""A classification stage stuck at chance is named, one that learns (even weakly) is not."""

from __future__ import annotations

import logging
import math
import random
from typing import Any, Literal

import pytest

from worker.training.diagnostics import WARNING_CODE, chance_warning, collected_warnings, stuck_at_chance
from worker.training.results import WARNING_CODES, HistoryPoint, RunResult
from worker.training.run import run


def _history(losses: list[float], stage: Literal["intermediate", "task"] = "task") -> list[HistoryPoint]:
    return [HistoryPoint(stage=stage, step=i + 1, epoch=0.0, loss=v, lr=1e-4) for i, v in enumerate(losses)]


def _noisy(centre: float, n: int, seed: int = 0, spread: float = 0.03) -> list[float]:
    rng = random.Random(seed)
    return [centre + rng.uniform(-spread, spread) for _ in range(n)]


def test_a_loss_scattered_around_ln3_is_stuck_even_when_single_batches_dip_below() -> None:
    losses = _noisy(math.log(3), 282)
    assert min(losses) < 0.99 * math.log(3)  # single points alone would not tell
    assert stuck_at_chance(_history(losses), "task", 3)


def test_a_loss_that_falls_is_not_stuck_even_if_it_falls_a_little() -> None:
    falling = [math.log(3) * (1 - 0.3 * i / 282) for i in range(282)]
    weak = _noisy(math.log(3), 141) + _noisy(1.075, 141, seed=1, spread=0.01)  # the weak stsb+rs_da run
    assert not stuck_at_chance(_history(falling), "task", 3)
    assert not stuck_at_chance(_history(weak), "task", 3)


def test_only_the_named_stage_regression_and_short_stages_are_not_judged() -> None:
    chance = _noisy(math.log(3), 100)
    assert not stuck_at_chance(_history(chance, stage="intermediate"), "task", 3)
    assert not stuck_at_chance(_history(chance), "task", 1)  # regression
    assert not stuck_at_chance(_history(chance[:10]), "task", 3)
    assert stuck_at_chance(_history(_noisy(math.log(2), 100)), "task", 2)


def test_the_warning_names_the_loss_and_the_setting_to_change() -> None:
    message = chance_warning(3, 1e-4)
    assert "ln(3) = 1.099" in message and "train.learning_rate (now 0.0001)" in message


@pytest.mark.parametrize(("learning_rate", "warned"), [(1e-9, True), (3e-3, False)])
def test_a_run_that_does_not_learn_logs_the_warning(
    make_config: Any, caplog: pytest.LogCaptureFixture, learning_rate: float, warned: bool
) -> None:
    config = make_config(train={"learning_rate": learning_rate}, eval={"languages": ["en"]})
    with caplog.at_level("WARNING", logger="worker.training.run"):
        result = run(config)
    messages = [r.getMessage() for r in caplog.records if r.name == "worker.training.run"]
    assert any("did not learn" in m for m in messages) == warned, messages
    # and results.json carries it, with its code
    stuck = [w for w in result.warnings if w.code == "stuck_at_chance"]
    assert len(stuck) == int(warned)
    if warned:
        assert "did not learn" in stuck[0].message and "train.learning_rate" in stuck[0].message
        again = RunResult.model_validate_json(result.model_dump_json())
        assert again.warnings == result.warnings


def test_warnings_logged_by_training_code_are_collected_with_a_code() -> None:
    with collected_warnings() as warnings:
        logging.getLogger("worker.training.checkpoints").warning("checkpoint at %s not written", "task")
        logging.getLogger("worker.training.run").warning("x", extra={WARNING_CODE: "stuck_at_chance"})
        logging.getLogger("worker.training.trainer").warning("something else")
        logging.getLogger("worker.training.trainer").warning("something else")  # once only
        logging.getLogger("worker.training.trainer").info("not a warning")
        logging.getLogger("elsewhere").warning("not the training code's")
    assert [(w.code, w.message) for w in warnings] == [
        ("checkpoint", "checkpoint at task not written"),
        ("stuck_at_chance", "x"),
        ("logged", "something else"),
    ]
    assert set(WARNING_CODES) >= {w.code for w in warnings}
    logging.getLogger("worker.training.run").warning("after the block")
    assert len(warnings) == 3
