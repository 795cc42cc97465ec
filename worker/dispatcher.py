"""The dispatcher: the loop that makes the runs table the queue of record.

Every `xlt serve` and every `xlt worker` runs one in a thread (`xlt dispatcher` runs it alone).
Each round, every `XLT_DISPATCH_INTERVAL` seconds:

1. reap:  a running run without a heartbeat for `XLT_STALE_AFTER` seconds goes back to the queue
          while it has attempts left (`XLT_MAX_ATTEMPTS`), else it fails as "worker lost";
2. send:  queued runs never sent (submitted while the broker was down, or just re-queued) are sent;
          queued runs sent more than `XLT_REDISPATCH_AFTER` seconds ago are sent again when their
          queue holds fewer messages than it should (the broker restarted empty, was flushed, or a
          worker took the message and died before claiming it);
3. spool: finished results that a worker could not store (database down) are stored;
4. sweep: checkpoint folders (XLT_CHECKPOINT_DIR/run-<id>) of runs that are over are removed (the
          task removes its own; this catches runs failed by the reaper or cancelled while queued).

Several dispatchers at once are safe: every change is a conditional UPDATE that one of them wins
(backend.store.dispatch), and a duplicate message is harmless because only a queued run can be
claimed. A dispatcher reaps only after it has itself seen the database answer for a whole
`XLT_STALE_AFTER`: after a database outage, live workers get that long to beat again before anyone
calls them lost.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from backend import queue, store
from backend.db import is_unavailable
from backend.settings import Settings, get_settings
from worker import spool

log = logging.getLogger(__name__)
CHECKPOINT_FOLDER = re.compile(r"^run-(\d+)$")  # Settings.run_checkpoint_dir


@dataclass
class Round:
    """What one round did (logged, and read by tests)."""

    sent: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    reaped: store.Reaped = field(default_factory=store.Reaped)
    spooled: dict[str, int] = field(default_factory=dict)
    checkpoints_removed: list[int] = field(default_factory=list)
    broker_error: str | None = None
    database_error: str | None = None

    def __bool__(self) -> bool:
        return bool(self.sent or self.resent or self.reaped or self.spooled or self.broker_error)


class Dispatcher:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._database_up_since: float | None = None

    # one round
    def run_once(self) -> Round:
        done = Round()
        try:
            if self._may_reap():
                done.reaped = store.reap_stale_runs(self.settings.stale_after, self.settings.max_attempts)
            plan = store.dispatch_plan(self.settings.redispatch_after)
            if self._database_up_since is None:
                self._database_up_since = time.monotonic()
            self._send(plan, done)
            done.spooled = spool.drain(self.settings.spool_dir)
            done.checkpoints_removed = self._sweep_checkpoints()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self._database_up_since = None
            done.database_error = str(exc).splitlines()[0]
        return done

    def _sweep_checkpoints(self) -> list[int]:
        root = self.settings.checkpoint_dir
        if not root.is_dir():
            return []
        folders = {
            int(match[1]): path
            for path in root.iterdir()
            if (match := CHECKPOINT_FOLDER.match(path.name)) and path.is_dir()
        }
        over = store.finished_run_ids(sorted(folders))
        for run_id in over:
            shutil.rmtree(folders[run_id], ignore_errors=True)
        return over

    def _may_reap(self) -> bool:
        up = self._database_up_since
        return up is not None and time.monotonic() - up >= self.settings.stale_after

    def _send(self, plan: store.DispatchPlan, done: Round) -> None:
        sent_now: Counter[str] = Counter()
        for run_id, queue_name in plan.unsent:
            outcome = self._send_one(run_id, queue_name, done)
            if outcome == "down":
                return  # the broker is down: the others wait for the next round
            if outcome == "sent":
                done.sent.append(run_id)
                sent_now[queue_name] += 1
        overdue: dict[str, list[int]] = {}
        for run_id, queue_name in plan.overdue:
            overdue.setdefault(queue_name, []).append(run_id)
        for queue_name, run_ids in overdue.items():
            try:
                depth = queue.queue_depth(queue_name)
            except Exception as exc:
                done.broker_error = f"broker unreachable: {exc}"
                return
            if depth >= plan.expected[queue_name] + sent_now[queue_name]:
                continue  # every queued run's message is (or may be) there: nothing to repair
            for run_id in run_ids:
                outcome = self._send_one(run_id, queue_name, done)
                if outcome == "down":
                    return
                if outcome == "sent":
                    done.resent.append(run_id)

    def _send_one(self, run_id: int, queue_name: str, done: Round) -> str:
        """'sent'; 'taken' when another dispatcher, a submit or a worker got the run first; 'down'
        when the broker cannot be reached (the run then waits for the queue)."""
        if not store.take_for_dispatch(run_id, self.settings.redispatch_after):
            return "taken"
        try:
            queue.enqueue_run(run_id, queue_name, queue.new_task_id())
        except Exception as exc:
            done.broker_error = f"broker unreachable: {exc}"
            store.release_dispatch(run_id, done.broker_error)
            return "down"
        store.mark_sent(run_id)
        return "sent"

    # the loop
    def run_forever(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set; an error in one round is logged and the next one runs."""
        broker_down = database_down = False
        while not stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("dispatcher round failed")
                done = Round()
            if done.sent or done.resent:
                log.info("dispatcher: sent runs %s, sent again %s", done.sent, done.resent)
            if done.reaped:
                log.warning(
                    "dispatcher: workers lost; re-queued %s, failed %s, cancelled %s",
                    done.reaped.requeued,
                    done.reaped.failed,
                    done.reaped.cancelled,
                )
            if done.spooled:
                log.info("dispatcher: spooled results %s", done.spooled)
            if done.checkpoints_removed:
                log.info("dispatcher: removed checkpoints of finished runs %s", done.checkpoints_removed)
            if bool(done.broker_error) != broker_down:
                broker_down = bool(done.broker_error)
                log.warning("dispatcher: %s", done.broker_error or "broker reachable again")
            if bool(done.database_error) != database_down:
                database_down = bool(done.database_error)
                log.warning("dispatcher: %s", done.database_error or "database reachable again")
            stop.wait(self.settings.dispatch_interval)


@dataclass
class DispatcherThread:
    """A dispatcher running in a daemon thread of this process; `stop()` ends it."""

    thread: threading.Thread
    stopping: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)


def start_in_thread(settings: Settings | None = None) -> DispatcherThread:
    stopping = threading.Event()
    dispatcher = Dispatcher(settings)
    thread = threading.Thread(
        target=dispatcher.run_forever, args=(stopping,), name="xlt-dispatcher", daemon=True
    )
    thread.start()
    return DispatcherThread(thread, stopping)


def run_dispatcher() -> int:
    """`xlt dispatcher`: the loop in the foreground until Ctrl-C / SIGTERM."""
    logging.basicConfig(level=get_settings().log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        Dispatcher().run_forever(stop)
    return 0
