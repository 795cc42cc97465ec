"""Spot a classification stage that never left chance level, so a failed seed is not read as a result.

Why: fine-tuning a pretrained encoder sometimes fails outright: the loss stays at ln(k), the loss of
predicting 1/k for each of k classes, and the model ends up predicting one class everywhere (Mosbach
et al. 2021, "On the stability of fine-tuning BERT"). Here MiniLM after the STS-B stage did so at
lr 1e-4 for seed 3, in bf16 and fp32, and learned at lr 5e-5 (docs/RESULTS.md). Such a run still
writes per-language scores (all at chance), which would drag a seed average down without a word.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from worker.training.results import HistoryPoint, RunWarning

# `log.warning(..., extra={WARNING_CODE: "stuck_at_chance"})` gives a logged warning its results.json code.
WARNING_CODE = "warning_code"
# codes of warnings logged without one, by logger
CODE_BY_LOGGER = {"worker.training.checkpoints": "checkpoint", "worker.training.precision": "slow_precision"}

CHANCE_LOSS_FRACTION = 0.99  # smoothed losses above this share of ln(k) throughout: not learned
MIN_POINTS = 20  # fewer logged losses than this are too few to judge


def stuck_at_chance(history: Sequence[HistoryPoint], stage: str, n_classes: int) -> bool:
    """Whether `stage`'s training loss, smoothed over windows of a tenth of its logged points, stays
    at or above 0.99 ln(n_classes) everywhere after the stage's first quarter (the warm-up).

    Smoothed, because single-batch losses of a stuck model scatter around ln(k); measured on MiniLM
    (docs/RESULTS.md): stuck runs 1.097, the weakest run that learned (stsb+rs_da, English 45.8 %)
    1.087, healthy runs 0.59-0.98, against ln(3) = 1.099. Classification only (n_classes >= 2)."""
    losses = [point.loss for point in history if point.stage == stage and math.isfinite(point.loss)]
    if n_classes < 2 or len(losses) < MIN_POINTS:
        return False
    width = len(losses) // 10
    means = [sum(losses[i : i + width]) / width for i in range(len(losses) // 4, len(losses) - width + 1)]
    return min(means) >= CHANCE_LOSS_FRACTION * math.log(n_classes)


def chance_warning(n_classes: int, learning_rate: float) -> str:
    return (
        f"the task stage did not learn: its training loss stayed at about ln({n_classes}) = "
        f"{math.log(n_classes):.3f}, the loss of guessing, so every score is at chance level. A known "
        f"failure mode of fine-tuning; try another seed or a lower train.learning_rate "
        f"(now {learning_rate:g})"
    )


class _Collector(logging.Handler):
    """Keeps the WARNING-or-worse records that the training code logs in one thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.warnings: list[RunWarning] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return  # another run in another thread of the same process
        code = getattr(record, WARNING_CODE, None) or CODE_BY_LOGGER.get(record.name, "logged")
        warning = RunWarning(code=code, message=record.getMessage())
        if warning not in self.warnings:
            self.warnings.append(warning)


@contextmanager
def collected_warnings(logger: str = "worker.training") -> Iterator[list[RunWarning]]:
    """The warnings `logger` and its children log inside the block, for results.json `warnings`
    (they still reach the run log as before). One list, filled as they come."""
    collector = _Collector()
    target = logging.getLogger(logger)
    target.addHandler(collector)
    try:
        yield collector.warnings
    finally:
        target.removeHandler(collector)
