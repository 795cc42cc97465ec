"""Request times as a lab grows: 100, 1,000, 10,000 and 100,000 runs, in SQLite and PostgreSQL.

    .venv/bin/python -m bench.growth [--sizes 100,1000,10000,100000] [--databases sqlite,postgresql]
        [--repeat 10] [--label after] [--out bench/out]
    .venv/bin/python -m bench.growth --sizes "" --plot docs/growth.png   # plot, and before/after table

One database per kind (SQLite under a temporary XLT_HOME; PostgreSQL a private database on
127.0.0.1:5432, dropped afterwards), migrated to head and served by `xlt serve --no-worker` on
127.0.0.1; the runs are added in steps (SQLAlchemy Core executemany, not the API) and every request
is timed over HTTP after each step: medians of `repeat` after two warm-ups.

The lab: bench/synthetic.py's runs (2 task variants × 4 methods × 3 seeds per model, 15 XNLI
accuracies), every model's 24 runs one experiment (a sweep), one tag per 1,000 runs, 20 loss points
a run and 1,000 for every thousandth run (the run page shows one of those). The study report is
built for the newest sweep (8 methods × 3 seeds) from the store through build_study_report (no
report endpoint in this branch: in-process, like the service would).

Writes bench/out/growth-<label>.json; `--plot PNG` draws every label found there (before/after).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import servers
from bench.synthetic import LANGUAGES, PER_MODEL, make_run, summary, xlt_config

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 100.0
CHUNK = 5000
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


# ── building the lab ─────────────────────────────────────────────────────────────────────────────


class Lab:
    """Inserts synthetic finished runs straight into the tables (ids = index + 1)."""

    def __init__(self, points: int) -> None:
        from backend.db import get_engine
        from worker.training.config import RunConfig

        self.engine = get_engine()
        self.points = points
        self.size = 0
        self._configs: dict[tuple[str, str, int], dict[str, Any]] = {}
        self._validate = RunConfig.model_validate

    def _config(self, index: int) -> dict[str, Any]:
        """A validated config per (variant, method, seed), the model and name filled in."""
        run = make_run(index, points=0)
        key = (run.variant, run.method, run.seed)
        if key not in self._configs:
            self._configs[key] = self._validate(xlt_config(run)).model_dump(mode="json")
        config = orjson.loads(orjson.dumps(self._configs[key]))
        config["model"] = run.model
        config["name"] = xlt_config(run)["name"]
        return config

    def grow(self, size: int) -> float:
        started = time.perf_counter()
        for first in range(self.size, size, CHUNK):
            self._insert(first, min(size, first + CHUNK))
        self.size = size
        self._sync_sequences()
        return time.perf_counter() - started

    def _insert(self, first: int, stop: int) -> None:
        from sqlalchemy import insert

        from backend.metric_codec import pack
        from backend.models import Experiment, MetricChunk, Run, RunTag, Score

        experiments, runs, scores, points, tags = [], [], [], [], []
        for i in range(first, stop):
            run = make_run(i, points=1000 if i % 1000 == 7 else self.points)
            created = BASE_TIME + timedelta(seconds=60 * i)
            if i % PER_MODEL == 0:
                experiments.append(
                    {
                        "id": i // PER_MODEL + 1,
                        "name": f"sweep {run.model}",
                        "description": "",
                        "created_at": created,
                    }
                )
            config = self._config(i)
            runs.append(
                {
                    "id": i + 1,
                    "experiment_id": i // PER_MODEL + 1,
                    "name": config["name"],
                    "status": "succeeded",
                    "task": "xnli",
                    "model": run.model,
                    "method": run.label,
                    "seed": run.seed,
                    "queue": "cpu",
                    "config": config,
                    "progress": 1.0,
                    "stage": "done",
                    "created_at": created,
                    "started_at": created + timedelta(seconds=5),
                    "finished_at": created + timedelta(seconds=55),
                    "heartbeat_at": created + timedelta(seconds=55),
                    "worker_host": "bench:1",
                    "task_id": str(uuid.UUID(int=i)),
                    "attempts": 1,
                    "dispatched_at": created,
                    "cancel_requested": False,
                    "notes": "",
                    "average": run.average,
                    "summary": summary(run) | {"timings": {"train_s": 50.0, "eval_s": 5.0}},
                }
            )
            scores += [
                {
                    "run_id": i + 1,
                    "dataset": "xnli",
                    "language": code,
                    "split": "test",
                    "metric": "accuracy",
                    "value": run.accuracy[code],
                    "n": 5010,
                }
                for code in LANGUAGES
            ]
            steps = list(range(1, len(run.loss) + 1))
            points.append(
                {
                    "run_id": i + 1,
                    "stage": "task",
                    "name": "loss",
                    "n": len(steps),
                    "min_step": 1,
                    "max_step": len(steps),
                    "data": pack(steps, run.loss),
                }
            )
            tags.append({"run_id": i + 1, "tag": f"batch-{i // 1000}"})
        with self.engine.begin() as conn:
            if experiments:
                conn.execute(insert(Experiment), experiments)
            conn.execute(insert(Run), runs)
            conn.execute(insert(Score), scores)
            conn.execute(insert(MetricChunk), points)
            conn.execute(insert(RunTag), tags)

    def _sync_sequences(self) -> None:
        """PostgreSQL: explicit ids leave the serial sequences behind; move them past the data."""
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.begin() as conn:
            for table in ("runs", "experiments"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")

    def database_bytes(self) -> int:
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0)
        db = Path(self.engine.url.database or "")
        return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


@contextlib.contextmanager
def database(kind: str, root: Path) -> Iterator[dict[str, str]]:
    """XLT_* settings of a fresh database of this kind; a PostgreSQL one is dropped afterwards."""
    home = root / kind
    if kind == "sqlite":
        yield {"XLT_HOME": str(home)}
        return
    import psycopg

    name = f"xlt_growth_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "XLT_HOME": str(home),
            "XLT_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        }
    finally:
        from backend.db import dispose_engines

        dispose_engines()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_settings(values: dict[str, str]) -> None:
    from backend.db import dispose_engines
    from backend.settings import reset_settings

    for key in [k for k in os.environ if k.startswith("XLT_")]:
        del os.environ[key]
    os.environ.update(values)
    reset_settings()
    dispose_engines()


# ── the requests ─────────────────────────────────────────────────────────────────────────────────


def requests_at(size: int) -> dict[str, str]:
    """Label → path, for a lab of `size` runs (ids 1..size)."""
    run_page = (size - 1) // 1000 * 1000 + 8  # a run with 1,000 loss points (index % 1000 == 7)
    newest = (size - 1) // 3 * 3  # the newest runs, groups of 3 seeds
    forty = ",".join(str(i + 1) for i in range(max(0, newest - 39), newest + 1))[-4000:]
    return {
        "runs page, newest first": "/",
        "runs page, sorted by accuracy": "/?sort=-average",
        "API runs, newest first": "/api/runs",
        "API runs, sorted by accuracy": "/api/runs?sort=-average",
        "API runs, filtered (method, tag)": f"/api/runs?method=rs_da&tag=batch-{(size - 1) // 1000}",
        "API runs, page 10": "/api/runs?page=10" if size >= 500 else "/api/runs",
        "run page": f"/runs/{run_page}",
        "compare page, 40 runs": f"/compare?runs={forty}",
        "API compare, 40 runs": f"/api/compare?runs={forty}",
    }


def study_report(size: int) -> object:
    """The newest sweep's study report, from the store (what a report service does)."""
    from backend import store
    from backend.studies.report import build_study_report
    from backend.studies.report_models import StudyRun

    experiment_id = (size - 1) // PER_MODEL + 1
    ids = store.run_ids_of_experiment(experiment_id)
    runs, rows = store.compare_inputs(ids, "accuracy")
    scores: dict[int, dict[str, dict[str, float]]] = {}
    for run_id, dataset, language, value in rows:
        scores.setdefault(run_id, {}).setdefault(dataset, {})[language] = value
    study = [
        StudyRun(run_id=r.id, method=r.method, seed=r.seed, task=r.task, scores=scores.get(r.id, {}))
        for r in runs
    ]
    return build_study_report(study, "baseline")


class Clock:
    """Wall time and CPU time (the server's, and its PostgreSQL backends') of repeated calls."""

    def __init__(self, server: servers.Server, database: str | None) -> None:
        self.server, self.database = server, database

    def cpu(self) -> float:
        backends = servers.postgres_backends(self.database) if self.database else []
        return self.server.cpu_seconds() + servers.process_cpu(backends)

    def time(self, fn: Any, repeat: int, cpu: Any = None) -> tuple[float, float]:
        """(median wall ms, mean CPU ms) of `repeat` calls after two warm-ups; `cpu` (default: the
        server's) counts the CPU seconds."""
        cpu = cpu or self.cpu
        for _ in range(2):
            fn()
        times = []
        cpu0 = cpu()
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), (cpu() - cpu0) * 1000 / repeat


def measure(http: httpx.Client, clock: Clock, size: int, repeat: int) -> dict[str, tuple[float, float]]:
    out = {}
    for label, path in requests_at(size).items():

        def get(path: str = path) -> None:
            r = http.get(clock.server.url + path)
            if r.status_code != 200:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")

        out[label] = clock.time(get, repeat)
    if size >= PER_MODEL:  # in this process: this thread's CPU time
        out["study report (in-process)"] = clock.time(lambda: study_report(size), repeat, time.thread_time)
    return out


def run(kind: str, sizes: list[int], repeat: int, points: int, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"sizes": {}, "build_s": {}, "bytes": {}, "load": {}, "rss": {}}
    with database(kind, root) as values:
        pg_name = values.get("XLT_DATABASE_URL", "").rsplit("/", 1)[-1] or None
        use_settings(values)
        from backend.migrate import upgrade

        upgrade()
        lab = Lab(points)
        env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")} | values
        env["XLT_LOG_LEVEL"] = "warning"
        server = servers.xlt_serve(env, root / f"serve-{kind}.log")
        try:
            with httpx.Client(timeout=60) as http:
                for size in sizes:
                    result["build_s"][size] = lab.grow(size)
                    result["bytes"][size] = lab.database_bytes()
                    result["load"][size] = servers.load_average()
                    result["sizes"][size] = measure(http, Clock(server, pg_name), size, repeat)
                    result["rss"][size] = server.rss_mib()
                    worst = max(wall for wall, _cpu in result["sizes"][size].values())
                    print(
                        f"{kind} {size:>7,} runs: built in {result['build_s'][size]:.0f} s, "
                        f"worst {worst:.1f} ms, load {result['load'][size]}",
                        flush=True,
                    )
        finally:
            server.stop()
    return result


# ── report ───────────────────────────────────────────────────────────────────────────────────────


def table(label: str, results: dict[str, Any]) -> str:
    kinds = list(results["databases"])
    sizes = sorted({int(s) for k in kinds for s in results["databases"][k]["sizes"]})
    head = "| request | " + " | ".join(
        f"{'SQLite' if k == 'sqlite' else 'PostgreSQL'} {s:,}" for k in kinds for s in sizes
    )
    lines = [
        f"Growth ({label}): {results['date']}, {results['machine']}; "
        f"median wall ms of {results['repeat']} requests over HTTP (server CPU ms per request in brackets).",
        "",
        head + " |",
        "|---|" + "---:|" * (len(kinds) * len(sizes)),
    ]
    first = results["databases"][kinds[0]]["sizes"][str(sizes[0])]  # JSON: sizes are strings
    for request in first:
        cells = []
        for k in kinds:
            by_size = {int(s): v for s, v in results["databases"][k]["sizes"].items()}
            for s in sizes:
                v = by_size.get(s, {}).get(request)
                if v is None:
                    cells.append("–")
                else:
                    wall, cpu = v
                    text = f"{wall:.0f}" if wall >= 10 else f"{wall:.1f}"
                    cells.append((f"**{text}**" if wall >= TARGET_MS else text) + f" ({cpu:.0f})")
        lines.append(f"| {request} | " + " | ".join(cells) + " |")
    formats: dict[str, tuple[str, Any]] = {
        "rss": ("API RSS", lambda m: f"{m:.0f} MiB"),
        "bytes": ("database size", lambda b: f"{b / 2**20:,.0f} MiB"),
        "build_s": ("time to add the runs", lambda t: f"{t:.0f} s"),
        "load": ("load average", str),
    }
    for what, (name, fmt) in formats.items():
        cells = []
        for k in kinds:
            by_size = {int(s): v for s, v in results["databases"][k][what].items()}
            cells += [fmt(by_size[s]) if s in by_size else "–" for s in sizes]
        lines.append(f"| *{name}* | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def before_after(out_dir: Path) -> str:
    """The largest size of growth-before.json against growth-after.json: wall ms (server CPU ms)."""
    before, after = (
        orjson.loads((out_dir / f"growth-{label}.json").read_bytes()) for label in ("before", "after")
    )
    kinds = [k for k in ("sqlite", "postgresql") if k in before["databases"] and k in after["databases"]]
    size = str(max(int(s) for s in after["databases"][kinds[0]]["sizes"]))
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    lines = [
        f"| request at {int(size):,} runs | "
        + " | ".join(f"{names[k]} before | {names[k]} after" for k in kinds)
        + " |",
        "|---|" + "---:|" * (2 * len(kinds)),
    ]
    for request in after["databases"][kinds[0]]["sizes"][size]:
        cells = []
        for k in kinds:
            for data in (before, after):
                wall, cpu = data["databases"][k]["sizes"].get(size, {}).get(request, (None, None))
                cells.append("–" if wall is None else f"{wall:.0f} ({cpu:.0f})")
        lines.append(f"| {request} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(out_dir: Path, png: Path) -> None:
    """Median wall time (top) and server CPU time (bottom) per request against runs, one panel per
    database; solid lines after the fixes, dashed before (growth-before.json), where saved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    runs = {
        f.stem.removeprefix("growth-"): orjson.loads(f.read_bytes())
        for f in sorted(out_dir.glob("growth-*.json"))
    }
    kinds = {"sqlite": "SQLite (embedded)", "postgresql": "PostgreSQL (deployment)"}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9), sharex=True, sharey="row")
    colors: dict[str, str] = {}
    for col, (kind, title) in enumerate(kinds.items()):
        for label, data in runs.items():
            db = data["databases"].get(kind)
            if not db:
                continue
            sizes = sorted(int(s) for s in db["sizes"])
            for request in db["sizes"][str(sizes[0])]:
                color = colors.setdefault(request, f"C{len(colors) % 10}")
                for row, which in enumerate((0, 1)):  # wall, CPU
                    points = [
                        (s, db["sizes"][str(s)][request][which])
                        for s in sizes
                        if request in db["sizes"][str(s)]
                    ]
                    axes[row][col].plot(
                        [x for x, _ in points],
                        [max(y, 0.5) for _, y in points],
                        "--" if label == "before" else "-",
                        marker="o",
                        ms=3,
                        color=color,
                        alpha=0.55 if label == "before" else 1.0,
                    )
        axes[0][col].set_title(title)
        axes[1][col].set_xlabel("runs in the database")
        for row in (0, 1):
            ax = axes[row][col]
            ax.axhline(TARGET_MS, color="red", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", lw=0.3)
    axes[0][0].set_ylabel("median wall ms per request (HTTP, 127.0.0.1)")
    axes[1][0].set_ylabel("server CPU ms per request (API + database)")
    handles = [Line2D([], [], color=c, marker="o", ms=3, label=r) for r, c in colors.items()]
    handles += [
        Line2D([], [], color="k", ls="-", label="after the fixes (migration 0006)"),
        Line2D([], [], color="k", ls="--", alpha=0.55, label="before"),
        Line2D([], [], color="red", ls=":", label="100 ms"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(
        "XLT Lab request times as the lab grows (bench/growth.py; a loaded 2-core VM: read the CPU row)"
    )
    fig.tight_layout(rect=(0, 0.1, 1, 0.97))
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--points", type=int, default=20, help="loss points of most runs")
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--plot", type=Path, default=None, help="draw bench/out/growth-*.json into this PNG")
    args = parser.parse_args(argv)
    if args.plot and not args.sizes:  # --sizes "" --plot PNG: draw (and compare) what is there
        plot(args.out, args.plot)
        if (args.out / "growth-before.json").exists() and (args.out / "growth-after.json").exists():
            print(before_after(args.out))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    root = Path(tempfile.mkdtemp(prefix="xlt-growth-"))
    results: dict[str, Any] = {
        "label": args.label,
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": servers.machine(),
        "repeat": args.repeat,
        "databases": {},
    }
    print(f"{results['date']}, load {servers.load_average()}, folder {root}", flush=True)
    for kind in args.databases.split(","):
        results["databases"][kind] = run(kind, sizes, args.repeat, args.points, root)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"growth-{args.label}.json").write_bytes(
            orjson.dumps(results, option=orjson.OPT_NON_STR_KEYS)
        )
    text = table(args.label, orjson.loads((args.out / f"growth-{args.label}.json").read_bytes()))
    print(text)
    (args.out / f"growth-{args.label}.md").write_text(text + "\n")
    if args.plot:
        plot(args.out, args.plot)
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
