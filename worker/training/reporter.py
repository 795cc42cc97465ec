"""How a training run talks to whoever runs it (console bar, Celery task, test) without knowing which.

The trainer calls these hooks; `should_stop()` is asked at every stage of a run (between data files
and loading steps, at every optimisation step, before every evaluation batch and language) so a
cancel requested through the database stops the run within seconds (cooperative cancel). It must be
cheap: a clock read, with any round trip rate-limited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from worker.training.results import HistoryPoint, Score


class RunCancelled(Exception):
    """Raised inside the trainer when the reporter asks it to stop."""


StopCheck = Callable[[], bool]  # a reporter's should_stop, for code that needs nothing else of it


def stop_if_asked(should_stop: StopCheck | None, where: str) -> None:
    """Raise RunCancelled ("cancelled while <where>") when `should_stop` says so."""
    if should_stop is not None and should_stop():
        raise RunCancelled(f"cancelled while {where}")


class Reporter(Protocol):
    def on_stage(self, stage: str, total_steps: int) -> None:
        """A stage ('intermediate' or 'task') starts with this many optimiser steps."""

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        """After each optimiser step; progress is the fraction of the whole run done, 0–1."""

    def on_evaluation(self, stage: str, step: int, metrics: dict[str, float]) -> None:
        """A source-language dev evaluation used for model selection."""

    def on_scores(self, scores: list[Score]) -> None:
        """Final per-language test scores, before the run returns."""

    def should_stop(self) -> bool:
        """True when the run should stop as soon as it can (cancel)."""


class NullReporter:
    """Reports nothing and never stops."""

    def on_stage(self, stage: str, total_steps: int) -> None:
        pass

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        pass

    def on_evaluation(self, stage: str, step: int, metrics: dict[str, float]) -> None:
        pass

    def on_scores(self, scores: list[Score]) -> None:
        pass

    def should_stop(self) -> bool:
        return False
