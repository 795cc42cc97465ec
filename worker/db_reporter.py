"""A training Reporter that writes to the database in batches and reads the cancel flag.

Loss/lr points are buffered and written with progress and heartbeat at most once per
`flush_interval` seconds (one transaction, not one commit per step); the same round trip returns the
cancel flag, so a cancel stops the run within about one flush interval. A background thread beats
every `heartbeat_interval` seconds while the trainer is busy elsewhere (loading, evaluation), and its
write brings the cancel flag back too.

Every write is fenced on the attempt that claimed the run: when it raises LostOwnership (the run was
re-queued, finished or cancelled without us), `lost` turns true and `should_stop()` answers True, so
the trainer stops at its next check and nothing more is written.

A time limit (seconds, from the claim) makes `should_stop()` answer True once it has passed, so the
run stops at its next check like a cancel; `timed_out` tells the task which of the two it was.

A write that fails (the database is down or busy) never fails the run: the points go back into the
buffer and the next write waits with exponential backoff (capped at `max_backoff`, shorter than the
stale timeout, so a worker that outlived an outage beats again before anyone declares it lost). The
buffer keeps at most `max_pending_points`; beyond that the oldest points are dropped and counted.

Two threads touch the buffer (the trainer adds, the heartbeat flushes), so adding and swapping it out
happen under one short lock; a second lock keeps writes one at a time and in order without ever
making the trainer wait for the database.
"""

from __future__ import annotations

import logging
import threading
import time

from backend import store
from worker.training.results import HistoryPoint, Score

log = logging.getLogger(__name__)

Point = tuple[str, str, int, float]  # (stage, name, step, value)


class DbReporter:
    def __init__(
        self,
        run_id: int,
        attempt: int,
        flush_interval: float = 1.0,
        heartbeat_interval: float = 5.0,
        *,
        max_backoff: float = 15.0,
        max_pending_points: int = 100_000,
        time_limit: float | None = None,
    ) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.max_backoff = max_backoff
        self.max_pending_points = max_pending_points
        self.lost = False  # fenced out: another attempt (or nobody) owns the run now
        self.dropped_points = 0
        self._points: list[Point] = []
        self._replace_from: dict[str, int] = {}  # stage -> first step this attempt logs in it
        self._stages_seen: set[str] = set()
        self._progress: float | None = None
        self._stage: str | None = None
        self._last_flush = time.monotonic()
        self._retry_at = 0.0  # no write before this (monotonic), after a failed one
        self._failures = 0
        self._cancel = False
        self._deadline = time.monotonic() + time_limit if time_limit else None
        self._buffer_lock = threading.Lock()  # held only to add points or swap the buffer out
        self._write_lock = threading.Lock()  # one database write at a time, in order
        self._stop_beat = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"heartbeat-run-{run_id}", daemon=True)
        self._beat.start()

    # Reporter protocol
    def on_stage(self, stage: str, total_steps: int) -> None:
        self._stage = stage
        self._flush_unless_backing_off()

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        self._add([(point.stage, "loss", point.step, point.loss), (point.stage, "lr", point.step, point.lr)])
        self._progress = progress
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self._flush_unless_backing_off()

    def on_evaluation(self, stage: str, step: int, metrics: dict[str, float]) -> None:
        self._add([(stage, f"dev_{name}", step, float(value)) for name, value in metrics.items()])
        self._flush_unless_backing_off()

    def on_scores(self, scores: list[Score]) -> None:
        self._stage = "evaluated"
        self._flush_unless_backing_off()

    def should_stop(self) -> bool:
        """True on a cancel request, once fenced out or past the time limit; reads the cancel flag
        at most once a flush interval."""
        if not self._stopping() and time.monotonic() - self._last_flush >= self.flush_interval:
            self._flush_unless_backing_off()
        return self._stopping()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel

    @property
    def timed_out(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    # Writing
    def _stopping(self) -> bool:
        return self._cancel or self.lost or self.timed_out

    def _add(self, points: list[Point]) -> None:
        """Built before the lock is taken, so the lock is held for one list extend."""
        with self._buffer_lock:
            for stage, _name, step, _value in points:
                if stage not in self._stages_seen:  # a resumed attempt rewrites its stage from here on
                    self._stages_seen.add(stage)
                    self._replace_from[stage] = step
            self._points.extend(points)

    def _flush_unless_backing_off(self) -> None:
        if time.monotonic() >= self._retry_at:
            self.flush()

    def flush(self) -> bool:
        """Write what is buffered with progress and heartbeat; True when it was written.

        Never raises: a fenced-out write sets `lost`, any other failure keeps the points for the
        next try and backs off."""
        with self._write_lock:
            if self.lost:
                return False
            with self._buffer_lock:
                points, self._points = self._points, []
                replace_from, self._replace_from = self._replace_from, {}
            try:
                cancel = store.record_progress(
                    self.run_id,
                    attempt=self.attempt,
                    progress=self._progress,
                    stage=self._stage,
                    points=points,
                    replace_from=replace_from,
                )
            except store.LostOwnership:
                self.lost = True
                log.warning("run %s: attempt %s was fenced out; stopping", self.run_id, self.attempt)
                return False
            except Exception as exc:
                self._keep_for_retry(points, replace_from, exc)
                return False
            if self._failures:
                log.warning(
                    "run %s: progress writes work again after %s failures (%s loss points dropped)",
                    self.run_id,
                    self._failures,
                    self.dropped_points,
                )
            self._failures = 0
            self._retry_at = 0.0
            self._cancel = cancel
            self._last_flush = time.monotonic()
            return True

    def _keep_for_retry(self, points: list[Point], replace_from: dict[str, int], exc: Exception) -> None:
        with self._buffer_lock:
            self._points[:0] = points
            for stage, step in replace_from.items():
                self._replace_from[stage] = min(step, self._replace_from.get(stage, step))
            overflow = len(self._points) - self.max_pending_points
            if overflow > 0:
                del self._points[:overflow]
                self.dropped_points += overflow
        self._failures += 1
        backoff = min(self.max_backoff, self.flush_interval * 2 ** min(self._failures, 16))
        self._retry_at = time.monotonic() + backoff
        if self._failures == 1 or self._failures % 10 == 0:
            log.warning(
                "run %s: progress write failed (%s in a row), retrying in %.1f s: %s",
                self.run_id,
                self._failures,
                backoff,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )

    @property
    def pending_points(self) -> int:
        with self._buffer_lock:
            return len(self._points)

    def close(self) -> None:
        """Stop the heartbeat thread, then try once to write what is left (never raises)."""
        self._stop_beat.set()
        if self._beat is not threading.current_thread():
            self._beat.join(timeout=60)
        self.flush()

    def _heartbeat(self) -> None:
        """Beat when nothing else wrote for a heartbeat interval (the trainer's writes count)."""
        while True:
            since = time.monotonic() - self._last_flush
            wait = max(self.heartbeat_interval - since, self._retry_at - time.monotonic(), 0.01)
            if self._stop_beat.wait(wait):
                return
            if time.monotonic() - self._last_flush >= self.heartbeat_interval:
                self._flush_unless_backing_off()
