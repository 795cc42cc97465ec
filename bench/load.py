"""Concurrent load: 20 researchers browsing and 2 submitting, against 10,000 runs, with locust.

    .venv/bin/python -m bench.load [--runs 10000] [--seconds 120] [--modes embedded,deployment]

    embedded     `xlt serve --no-worker` on SQLite with the SQLite broker, no accounts (127.0.0.1)
    deployment   `xlt serve --no-worker` on PostgreSQL with Redis and accounts on (XLT_AUTH=on, the
                 users send a member's API token): one uvicorn process, as README's "Adding GPU
                 machines" and docker-compose.yml run the API

The runs the 2 submitters launch stay queued: the broker takes each task and no worker consumes it
(`--no-worker`, no `xlt worker`), so the figures are the API's and not those of training sharing
its 2 cores. The lab is bench/growth.py's (bench/synthetic.py's runs, built with SQLAlchemy Core),
plus one share link to a comparison of 8 runs.

locust runs headless in its own process (bench/locustfile.py; its gevent patching must not meet the
rest of the bench), against 127.0.0.1; the API's resident memory is sampled every second. Targets:
no errors, p95 under 300 ms, API RSS under 300 MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import servers
from bench.growth import Lab, database, use_settings

P95_MS = 300.0
RSS_MIB = 300.0
REDIS = "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def mode_settings(mode: str, root: Path) -> Iterator[dict[str, str]]:
    kind = "sqlite" if mode == "embedded" else "postgresql"
    with database(kind, root / mode) as values:
        values = dict(values)
        if mode == "deployment":
            suffix = uuid.uuid4().hex[:8]
            values |= {
                "XLT_BROKER_URL": REDIS,
                "XLT_GPU_QUEUE": f"gpu-{suffix}",
                "XLT_CPU_QUEUE": f"cpu-{suffix}",
                "XLT_AUTH": "on",
            }
        try:
            yield values
        finally:
            if mode == "deployment":
                import redis

                redis.Redis.from_url(REDIS).delete(values["XLT_GPU_QUEUE"], values["XLT_CPU_QUEUE"])


def prepare(mode: str, values: dict[str, str], runs: int) -> tuple[str, str, float]:
    """Migrate, add the runs, a share link and (deployment) a member with a token."""
    use_settings(values)
    from backend import store
    from backend.migrate import upgrade

    upgrade()
    seconds = Lab(points=20).grow(runs)
    link = store.create_share_link("compare", {"runs": list(range(1, 9)), "baseline": None})
    token = ""
    if mode == "deployment":
        from backend.services import accounts
        from backend.store import users

        users.create_user("loadtest", "not-a-login", "member")
        token = accounts.create_token("loadtest", label="bench.load").token
    return link.token, token, seconds


class RssSampler(threading.Thread):
    def __init__(self, server: servers.Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.samples.append(self.server.rss_mib())


def read_stats(prefix: Path) -> list[dict[str, Any]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def measure(mode: str, runs: int, seconds: int, root: Path) -> dict[str, Any]:
    with mode_settings(mode, root) as values:
        share, token, build_s = prepare(mode, values, runs)
        env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")} | values
        env["XLT_LOG_LEVEL"] = "warning"
        server = servers.xlt_serve(env, root / f"serve-{mode}.log")
        sampler = RssSampler(server)
        pg_name = values.get("XLT_DATABASE_URL", "").rsplit("/", 1)[-1] or None

        def server_cpu() -> float:
            backends = servers.postgres_backends(pg_name) if pg_name else []
            return server.cpu_seconds() + servers.process_cpu(backends)

        try:
            rss_start = server.rss_mib()
            sampler.start()
            cpu0 = server_cpu()
            load = servers.load_average()
            prefix = root / f"locust-{mode}"
            locust_env = os.environ | {"BENCH_RUNS": str(runs), "BENCH_SHARE": share, "BENCH_TOKEN": token}
            done = subprocess.run(
                [
                    str(servers.BIN / "locust"),
                    "-f",
                    str(servers.REPO / "bench" / "locustfile.py"),
                    "--headless",
                    "--host",
                    server.url,
                    "--users",
                    "22",
                    "--spawn-rate",
                    "11",
                    "--run-time",
                    f"{seconds}s",
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--reset-stats",  # count from when all 22 users are running
                    "--loglevel",
                    "WARNING",
                ],
                env=locust_env,
                cwd=servers.REPO,
                capture_output=True,
                text=True,
            )
            load_after = servers.load_average()
            cpu_s = server_cpu() - cpu0
        finally:
            sampler.done.set()
            server.stop()
        if not Path(f"{prefix}_stats.csv").exists():
            raise RuntimeError(f"locust failed ({done.returncode}): {done.stderr[-3000:]}")
        failures = (
            Path(f"{prefix}_failures.csv").read_text() if Path(f"{prefix}_failures.csv").exists() else ""
        )
        return {
            "stats": read_stats(prefix),
            "failures": failures,
            "rss_start": rss_start,
            "rss_max": max(sampler.samples, default=rss_start),
            "load": f"{load} → {load_after}",
            "cpu_s": cpu_s,
            "build_s": build_s,
            "server_log": server.log_tail(2000),
        }


def report(
    results: dict[str, dict[str, Any]], runs: int, seconds: int, started: datetime
) -> tuple[str, bool]:
    lines = [
        f"locust, 20 browsing + 2 submitting users for {seconds} s against {runs:,} runs, "
        f"{started:%Y-%m-%d %H:%M} UTC, {servers.machine()}; times in ms.",
        "",
    ]
    ok = True
    for mode, r in results.items():
        total = next(s for s in r["stats"] if s["Name"] == "Aggregated")
        errors = int(total["Failure Count"])
        p95 = float(total["95%"])
        ok &= errors == 0 and p95 < P95_MS and r["rss_max"] < RSS_MIB
        cpu_ms = 1000 * r["cpu_s"] / max(1, int(total["Request Count"]))  # ramp-up's requests included
        lines += [
            f"**{mode}**: {int(total['Request Count']):,} requests ({float(total['Requests/s']):.1f}/s), "
            f"{errors} errors, p50 {float(total['50%']):.0f} ms, p95 {p95:.0f} ms, "
            f"p99 {float(total['99%']):.0f} ms; API RSS {r['rss_start']:.0f} MiB at the start, "
            f"{r['rss_max']:.0f} MiB at most; server CPU {cpu_ms:.0f} ms "
            f"per request (the API process{' and its PostgreSQL backends' if mode == 'deployment' else ''}); "
            f"load average {r['load']}.",
            "",
            "| request | count | errors | p50 | p95 | p99 | max |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for s in r["stats"]:
            if s["Name"] == "Aggregated":
                continue
            lines.append(
                f"| {s['Type']} {s['Name']} | {s['Request Count']} | {s['Failure Count']} | {s['50%']} "
                f"| {s['95%']} | {s['99%']} | {float(s['Max Response Time']):.0f} |"
            )
        if len(r["failures"].strip().splitlines()) > 1:
            lines += ["", "Failures:", "```", r["failures"].strip()[:2000], "```"]
        lines.append("")
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--modes", default="embedded,deployment")
    parser.add_argument("--out", type=Path, default=Path("bench/out/load.md"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="xlt-load-"))
    started = datetime.now(UTC)
    results = {}
    for mode in args.modes.split(","):
        results[mode] = measure(mode, args.runs, args.seconds, root)
        print(f"{mode} done, load {servers.load_average()}", flush=True)
    text, ok = report(results, args.runs, args.seconds, started)
    servers.finish(text, args.out, root, args.keep)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
