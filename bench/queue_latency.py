"""Queue latency: from the POST that submits a run to the worker's claim (the run's `started_at`).

    .venv/bin/python -m bench.queue_latency [--submissions 50]
        [--modes redis-postgresql,redis-sqlite,embedded]

Each mode starts `xlt serve --no-worker` and one `xlt worker` on 127.0.0.1 (the deployment layout;
the embedded `xlt serve` starts the same worker itself) and submits runs one at a time over HTTP,
each after the previous one has ended, so the worker is idle and waiting on the broker when the POST
leaves. The latency is `started_at` (written by the worker's claim, same machine clock) minus the
time just before the POST; medians and p95 of `--submissions` after 3 warm-ups (the first run imports
torch), each sent after a random pause of up to 1 s (a person's submissions do not keep time with
the embedded transport's polling).

The runs are claimed and then fail at once (their model is a local path that does not exist, and
the hub is offline): only the way to the claim is timed, and the worker is free again in a moment.

    redis-postgresql   PostgreSQL + Redis (docker compose's deployment); queue names of its own
    redis-sqlite       the embedded SQLite database with Redis as broker
    embedded           SQLite database, kombu's SQLAlchemy transport on SQLite (polls every 0.5 s)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import servers

TARGET_MS = 50.0
REDIS = "redis://127.0.0.1:6379/0"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def mode_settings(mode: str, root: Path) -> Iterator[dict[str, str]]:
    home = root / mode
    suffix = uuid.uuid4().hex[:8]
    values = {"XLT_HOME": str(home), "XLT_LOG_LEVEL": "warning"}
    if mode.startswith("redis"):
        values |= {
            "XLT_BROKER_URL": REDIS,
            "XLT_GPU_QUEUE": f"gpu-{suffix}",
            "XLT_CPU_QUEUE": f"cpu-{suffix}",
        }
    with contextlib.ExitStack() as stack:
        if mode == "redis-postgresql":
            import psycopg

            name = f"xlt_queue_{suffix}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')

            def drop() -> None:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            stack.callback(drop)
            values["XLT_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        if mode.startswith("redis"):

            def clear_queues() -> None:
                import redis

                redis.Redis.from_url(REDIS).delete(values["XLT_GPU_QUEUE"], values["XLT_CPU_QUEUE"])

            stack.callback(clear_queues)
        yield values


def config(root: Path, k: int) -> dict[str, object]:
    return {
        "name": f"latency-{k}",
        "task": "xnli",
        "model": str(root / "no-such-model"),
        "train": {"device": "cpu", "seed": k},
        "eval": {"languages": ["en"]},
    }


def run_state(http: httpx.Client, url: str, run_id: int) -> dict[str, object]:
    return dict(http.get(f"{url}/api/runs/{run_id}").raise_for_status().json())


def submit_and_wait(http: httpx.Client, url: str, root: Path, k: int) -> tuple[float, float]:
    """(ms from just before the POST to the run's started_at, ms of the POST itself); returns once
    the run has ended. A random pause first: the embedded transport polls every 0.5 s, and a
    submission sent right after the worker's last task would always land at the same point of its
    polling cycle."""
    time.sleep(random.uniform(0.0, 1.0))
    sent = datetime.now(UTC)
    started_post = time.perf_counter()
    created = http.post(url + "/api/runs", json=config(root, k))
    post_ms = (time.perf_counter() - started_post) * 1000
    created.raise_for_status()
    run_id = created.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = run_state(http, url, run_id)
        if run["status"] in ("failed", "succeeded", "cancelled"):
            started = datetime.fromisoformat(str(run["started_at"]))
            return (started - sent).total_seconds() * 1000, post_ms
        time.sleep(0.02)
    raise RuntimeError(f"run {run_id} did not end within 2 minutes: {run_state(http, url, run_id)}")


def measure(mode: str, submissions: int, root: Path) -> dict[str, object]:
    with mode_settings(mode, root) as values:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")} | values
        env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        server = servers.xlt_serve(env, root / f"serve-{mode}.log")
        log = (root / f"worker-{mode}.log").open("wb")
        worker = subprocess.Popen(
            [str(servers.BIN / "xlt"), "worker"],
            cwd=servers.REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            with httpx.Client(timeout=60) as http:
                for k in range(3):  # warm-up: imports, connections, queue declarations
                    submit_and_wait(http, server.url, root, k)
                load = servers.load_average()
                pairs = [submit_and_wait(http, server.url, root, 3 + k) for k in range(submissions)]
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
            server.stop()
    latencies = sorted(latency for latency, _ in pairs)
    posts = sorted(post for _, post in pairs)
    return {
        "post_median": statistics.median(posts),
        "median": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "min": latencies[0],
        "max": latencies[-1],
        "load": f"{load} → {servers.load_average()}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=50)
    parser.add_argument("--modes", default="redis-postgresql,redis-sqlite,embedded")
    parser.add_argument("--out", type=Path, default=Path("bench/out/queue_latency.md"))
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="xlt-queue-"))
    started = datetime.now(UTC)
    results = {mode: measure(mode, args.submissions, root) for mode in args.modes.split(",")}
    lines = [
        f"Submit → claim over HTTP, {args.submissions} submissions each after 3 warm-ups, "
        f"{started:%Y-%m-%d %H:%M} UTC, {servers.machine()}.",
        "",
        "| broker (database) | median ms | p95 ms | min ms | max ms | the POST alone, median ms "
        "| load average (1/5/15 min) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    names = {
        "redis-postgresql": "Redis (PostgreSQL)",
        "redis-sqlite": "Redis (SQLite)",
        "embedded": "embedded: SQLite transport (SQLite)",
    }
    for mode, r in results.items():
        lines.append(
            f"| {names.get(mode, mode)} | {r['median']:.1f} | {r['p95']:.1f} | {r['min']:.1f} "
            f"| {r['max']:.1f} | {r['post_median']:.1f} | {r['load']} |"
        )
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    redis_ok = all(float(str(r["median"])) < TARGET_MS for m, r in results.items() if m.startswith("redis"))
    return 0 if redis_ok else 1


if __name__ == "__main__":
    sys.exit(main())
