"""A training Reporter that writes to the database in batches and reads the cancel flag.

Loss/lr points are buffered and written with progress and heartbeat at most once per
`flush_interval` seconds (one transaction, not one commit per step); the same round trip returns the
cancel flag, so a cancel stops the run within about one flush interval. A background thread keeps
the heartbeat fresh while the trainer is busy elsewhere (evaluation, data loading).

Two threads touch the buffer (the trainer adds, the heartbeat flushes), so adding and swapping it out
happen under one short lock; a second lock keeps writes one at a time and in order without ever
making the trainer wait for the database.
"""

from __future__ import annotations

import contextlib
import threading
import time

from backend import store
from worker.training.results import HistoryPoint, Score


class DbReporter:
    def __init__(self, run_id: int, flush_interval: float = 1.0, heartbeat_interval: float = 15.0) -> None:
        self.run_id = run_id
        self.flush_interval = flush_interval
        self._points: list[tuple[str, str, int, float]] = []
        self._progress: float | None = None
        self._stage: str | None = None
        self._last_flush = time.monotonic()
        self._cancel = False
        self._buffer_lock = threading.Lock()  # held only to add points or swap the buffer out
        self._write_lock = threading.Lock()  # one database write at a time, in order
        self._stop_beat = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat_interval,), daemon=True)
        self._beat.start()

    # Reporter protocol
    def on_stage(self, stage: str, total_steps: int) -> None:
        self._stage = stage
        self.flush()

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        self._add([(point.stage, "loss", point.step, point.loss), (point.stage, "lr", point.step, point.lr)])
        self._progress = progress
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def on_evaluation(self, stage: str, step: int, metrics: dict[str, float]) -> None:
        self._add([(stage, f"dev_{name}", step, float(value)) for name, value in metrics.items()])
        self.flush()

    def on_scores(self, scores: list[Score]) -> None:
        self._stage = "evaluated"
        self.flush()

    def should_stop(self) -> bool:
        if not self._cancel and time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()
        return self._cancel

    # Writing
    def _add(self, points: list[tuple[str, str, int, float]]) -> None:
        """Built before the lock is taken, so the lock is held for one list extend."""
        with self._buffer_lock:
            self._points.extend(points)

    def flush(self) -> None:
        with self._write_lock:
            with self._buffer_lock:
                points, self._points = self._points, []
            self._cancel = store.record_progress(
                self.run_id, progress=self._progress, stage=self._stage, points=points
            )
            self._last_flush = time.monotonic()

    def close(self) -> None:
        """Stop the heartbeat thread, then write what is left."""
        self._stop_beat.set()
        if self._beat is not threading.current_thread():
            self._beat.join(timeout=60)
        self.flush()

    def _heartbeat(self, interval: float) -> None:
        while not self._stop_beat.wait(interval):
            if time.monotonic() - self._last_flush >= interval:
                with contextlib.suppress(Exception):  # a missed heartbeat is not worth killing the run for
                    self.flush()
