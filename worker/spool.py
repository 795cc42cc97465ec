"""The spool: finished results waiting for the database, one file per run attempt.

A worker writes a run's results.json here (atomically: temporary file, fsync, rename) before it
stores them, and deletes the file once they are stored. When the database is down at the end of a
run the file stays, and a dispatcher on the same machine stores it when the database is back
(`drain`); the store's fenced complete accepts it only from the attempt that still owns the run. A
result the run no longer wants (re-queued meanwhile, or cancelled) moves to `spool/fenced/` rather
than being deleted: no finished result is ever thrown away.

    XLT_HOME/spool/run-<id>-attempt-<n>.json
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from backend import store
from backend.db import is_unavailable
from worker.training.results import RunResult

log = logging.getLogger(__name__)

NAME = re.compile(r"^run-(\d+)-attempt-(\d+)\.json$")


@dataclass(frozen=True)
class Spooled:
    run_id: int
    attempt: int
    path: Path


def path_for(spool_dir: Path, run_id: int, attempt: int) -> Path:
    return spool_dir / f"run-{run_id}-attempt-{attempt}.json"


@contextlib.contextmanager
def spooled(spool_dir: Path, run_id: int, attempt: int, result: RunResult) -> Iterator[Spooled]:
    """Write the result so that a crash at any instant leaves either no file or a whole one, and
    hold its lock (taken before the file appears) until the block ends: a dispatcher draining the
    spool meanwhile leaves it to the writer."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = path_for(spool_dir, run_id, attempt)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(result.model_dump_json())
        f.flush()
        os.fsync(f.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # the rename itself durable, where the file system allows
            fd = os.open(spool_dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        yield Spooled(run_id, attempt, path)


def write(spool_dir: Path, run_id: int, attempt: int, result: RunResult) -> Path:
    """Spool a result and let go of it (a dispatcher stores it)."""
    with spooled(spool_dir, run_id, attempt, result) as item:
        return item.path


def pending(spool_dir: Path) -> list[Spooled]:
    """Spooled results, oldest run first."""
    if not spool_dir.is_dir():
        return []
    found = []
    for path in spool_dir.iterdir():
        match = NAME.match(path.name)
        if match:
            found.append(Spooled(int(match[1]), int(match[2]), path))
    return sorted(found, key=lambda s: (s.run_id, s.attempt))


def _set_aside(item: Spooled, folder: str, why: str) -> None:
    aside = item.path.parent / folder
    aside.mkdir(exist_ok=True)
    os.replace(item.path, aside / item.path.name)
    log.warning("run %s: spooled result of attempt %s kept in %s: %s", item.run_id, item.attempt, aside, why)


def store_spooled(item: Spooled) -> str:
    """Store one spooled result: 'stored', 'fenced' or 'unreadable' (both kept aside), or
    'unavailable' (the database is down: try again later)."""
    try:
        result = RunResult.model_validate_json(item.path.read_text(encoding="utf-8"))
    except ValueError as exc:  # never written by `write` (atomic), but never lost either
        _set_aside(item, "unreadable", str(exc).splitlines()[0])
        return "unreadable"
    try:
        store.complete_run(item.run_id, result, attempt=item.attempt)
    except store.LostOwnership as exc:
        _set_aside(item, "fenced", str(exc))
        return "fenced"
    except Exception as exc:
        if is_unavailable(exc):
            return "unavailable"
        raise
    item.path.unlink(missing_ok=True)
    log.info("run %s: spooled result of attempt %s stored", item.run_id, item.attempt)
    return "stored"


@contextlib.contextmanager
def held(item: Spooled) -> Iterator[bool]:
    """Hold the file's lock (flock, across processes and threads) while storing it: True when this
    caller holds it, False when someone else does or the file is gone (stored meanwhile). The task
    that spooled a result holds it through its retries, so a dispatcher never stores it twice."""
    try:
        f = item.path.open("rb")
    except FileNotFoundError:
        yield False
        return
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            same = os.fstat(f.fileno()).st_ino == os.stat(item.path).st_ino
        except FileNotFoundError:
            same = False  # stored and removed between our open and our lock
        yield same


def drain(spool_dir: Path) -> dict[str, int]:
    """Store every spooled result the database takes now (skipping those another process or thread
    is storing); counts by outcome."""
    counts: dict[str, int] = {}
    for item in pending(spool_dir):
        with held(item) as mine:
            if not mine:
                continue
            outcome = store_spooled(item)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "unavailable":
            break  # the database is still down: the rest wait for the next round
    return counts
