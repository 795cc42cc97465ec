"""Live run page: polling `/runs/{id}/live.json` (what frontend/static/js/run_live.js does) against
server-sent events carrying the same payload, one watcher for `--seconds` each way.

    .venv/bin/python -m bench.live_updates [--seconds 60] [--points 2000]

A fresh embedded database in a temp XLT_HOME holds one running run with `--points` loss points; a
thread of this process plays its worker (progress and a loss point every second through the store,
as the worker's reporter writes them). The server is `uvicorn` in its own process: the app of
`backend.app` plus, for this measurement only, `/runs/{id}/live.sse`, a stream that builds the same
payload every 1.5 s server-side (the worker writes from another process, so a stream must poll the
database too) and sends it when it changed. Reported per mode: the server process's CPU seconds
(/proc utime + stime), HTTP requests, bytes the watcher received, updates it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Request  # module level: the route's annotations are resolved from here
from fastapi.responses import StreamingResponse

INTERVAL_S = 1.5  # run_live.js polls every 1.5 s


def create_app_with_sse() -> Any:
    """backend.app plus a server-sent-events twin of live.json (measurement only, not shipped)."""
    from starlette.concurrency import run_in_threadpool

    from backend.app import create_app
    from backend.pages.run_page import run_live

    app = create_app()

    @app.get("/runs/{run_id}/live.sse", include_in_schema=False)
    async def live_sse(run_id: int, request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            last = ""
            while not await request.is_disconnected():
                payload = json.dumps(await run_in_threadpool(run_live, run_id), default=str)
                if payload != last:
                    yield f"data: {payload}\n\n"
                    last = payload
                await asyncio.sleep(INTERVAL_S)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def play_worker(run_id: int, attempt: int, first_step: int, stop: threading.Event) -> None:
    from backend import store

    step = first_step
    while not stop.wait(1.0):
        step += 1
        store.record_progress(
            run_id, attempt=attempt, progress=min(0.99, step / 10_000), points=[("task", "loss", step, 1.0)]
        )


def poll(url: str, seconds: float) -> dict[str, float]:
    import httpx

    received = requests = updates = 0
    last = b""
    with httpx.Client() as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            body = client.get(url).content
            requests += 1
            received += len(body)
            updates += body != last
            last = body
            time.sleep(INTERVAL_S)
    return {"requests": requests, "bytes": received, "updates": updates}


def stream(url: str, seconds: float) -> dict[str, float]:
    import httpx

    received = updates = 0
    end = time.monotonic() + seconds
    with httpx.Client(timeout=httpx.Timeout(10, read=seconds + 10)) as client, client.stream("GET", url) as r:
        if r.status_code != 200 or not r.headers["content-type"].startswith("text/event-stream"):
            raise SystemExit(f"{url}: HTTP {r.status_code} {r.headers['content-type']}: {r.read()[:500]!r}")
        for line in r.iter_lines():
            received += len(line) + 1
            updates += line.startswith("data: ")
            if time.monotonic() >= end:
                break
    return {"requests": 1, "bytes": received, "updates": updates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--points", type=int, default=2000, help="loss points the run has already")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="xlt-bench-live-"))
    os.environ["XLT_HOME"] = str(home)
    os.environ.pop("XLT_DATABASE_URL", None)
    from backend import store
    from backend.migrate import upgrade
    from tests.factories import free_port, tiny_config

    upgrade()
    from worker.training.config import RunConfig

    run_id = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="bench").id
    claim = store.claim_run(run_id, "bench", None)
    assert claim is not None
    points = [("task", "loss", s, 1.1 - s * 1e-4) for s in range(1, args.points + 1)]
    store.record_progress(run_id, attempt=claim.attempt, progress=0.2, stage="task", points=points)

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.live_updates:create_app_with_sse",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=dict(os.environ),
    )
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    writer = threading.Thread(
        target=play_worker, args=(run_id, claim.attempt, args.points, stop), daemon=True
    )
    try:
        import httpx

        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.get(f"{base}/runs/{run_id}/live.json")  # warm: imports, first queries
        writer.start()
        rows = []
        for mode, watch, path in (
            ("polling live.json every 1.5 s", poll, "live.json"),
            ("server-sent events, same payload", stream, "live.sse"),
        ):
            before, start = cpu_seconds(server.pid), time.monotonic()
            seen = watch(f"{base}/runs/{run_id}/{path}", args.seconds)
            wall = time.monotonic() - start
            cpu = cpu_seconds(server.pid) - before
            rows.append((mode, cpu, 100 * cpu / wall, seen))
        idle_before = cpu_seconds(server.pid)
        time.sleep(args.seconds / 4)
        idle = (cpu_seconds(server.pid) - idle_before) * 4
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=20)

    print(f"one watcher, {args.seconds:g} s each, run with {args.points} loss points (+1 a second)")
    print("| mode | server CPU s | % of one core | requests | KiB received | updates seen |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, cpu, share, seen in rows:
        print(
            f"| {mode} | {cpu:.2f} | {share:.2f} | {seen['requests']} | {seen['bytes'] / 1024:.0f} |"
            f" {seen['updates']} |"
        )
    print(f"| no watcher (dispatcher thread only), scaled to {args.seconds:g} s | {idle:.2f} | | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
