"""XLT Lab against an MLflow tracking server: the same lab, the same questions, the same HTTP client.

    .venv/bin/python -m bench.mlflow_compare [--runs 1000] [--repeat 15] [--out bench/out/mlflow_compare.md]

Both servers on 127.0.0.1 with SQLite: `xlt serve --no-worker` (embedded mode) and `mlflow server`
(once with `--workers 1`, once with its default of 4). The same synthetic runs in both
(bench/synthetic.py: 2 task variants × 4 methods × 3 seeds × models, 15 per-language accuracies and
1,000 loss and learning-rate points each; in MLflow as `accuracy_<lang>`, `loss` and `lr` metrics
with params), bulk-loaded before the servers start: XLT Lab through its store
(backend/store/imports.py), MLflow through its own store's log_batch (MlflowClient on the SQLite URI).

Timed over HTTP with one httpx client (kept-alive connection), a request of one side right after the
same request of the other, so a slow spell of this shared machine hits both; medians of `repeat`
rounds after two warm-ups. Client-side work MLflow leaves to its users (grouping by params, mean ± std,
averages) is inside its timings; XLT Lab answers those in the server.

    ingest         one finished run: XLT POST /api/runs/import (results.json); MLflow runs/create,
                   3 × runs/log-batch (1,000 entities each at most), runs/update
    compare 40     per-language mean ± std of 40 runs grouped by everything but the seed:
                   XLT GET /api/compare; MLflow runs/search `attributes.run_id IN (…)` + grouping
    6 groups       the same table for 6 groups named by (model, method, variant): XLT one
                   /api/compare?match=model=…&method=… (× 6); MLflow 6 × runs/search by params
    list 1,000     1,000 runs with their average accuracy: XLT GET /api/runs?page_size=1000;
                   MLflow runs/search max_results=1000 + the average of the 15 accuracy_ metrics
    history        one run's 1,000 loss points: XLT GET /api/runs/{id}/history?name=loss; MLflow
                   metrics/get-history
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson

from bench import servers
from bench.synthetic import LANGUAGES, SyntheticRun, make_run, mlflow_params, xlt_results_json

TARGET = 10.0
COMPARE_START = 480  # 40 runs from here: a multiple of 3, so groups of 3 seeds (13 full, 1 single)
GROUP_STARTS = (0, 99, 312, 525, 702, 957)  # six (model, variant, method) groups of 3 seeds each


# ── bulk loading ─────────────────────────────────────────────────────────────────────────────────


def load_xlt(home: Path, n_runs: int) -> tuple[list[int], float]:
    """n finished runs into a fresh embedded database through the store; (ids by index, seconds)."""
    os.environ["XLT_HOME"] = str(home)
    for key in ("XLT_DATABASE_URL", "XLT_BROKER_URL"):
        os.environ.pop(key, None)
    from backend.migrate import upgrade
    from backend.settings import reset_settings
    from backend.store.imports import import_results
    from worker.training.results import RunResult

    reset_settings()
    upgrade()
    started = time.perf_counter()
    ids: list[int] = []
    for first in range(0, n_runs, 100):
        batch = [make_run(i) for i in range(first, min(n_runs, first + 100))]
        results = [RunResult.model_validate(xlt_results_json(r)) for r in batch]
        ids += import_results(results, tags=("bench",)).run_ids
    return ids, time.perf_counter() - started


def mlflow_metrics(run: SyntheticRun, now_ms: int) -> list[dict[str, Any]]:
    metrics = [
        {"key": f"accuracy_{code}", "value": v, "timestamp": now_ms, "step": 0}
        for code, v in run.accuracy.items()
    ]
    metrics += [
        {"key": "loss", "value": v, "timestamp": now_ms, "step": s + 1} for s, v in enumerate(run.loss)
    ]
    metrics += [{"key": "lr", "value": v, "timestamp": now_ms, "step": s + 1} for s, v in enumerate(run.lr)]
    return metrics


def load_mlflow(db: Path, artifacts: Path, n_runs: int) -> tuple[str, list[str], float]:
    """The same runs into a fresh MLflow SQLite store through MlflowClient.log_batch, written in
    memory (/dev/shm: MLflow's SQLite commits sync to disk, ~1 s a run here) and then moved to `db`."""
    from mlflow.tracking import MlflowClient

    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else db.parent
    staging = Path(tempfile.mkdtemp(prefix="mlflow-load-", dir=shm)) / db.name
    try:
        experiment_id, run_ids, seconds = _log_runs(
            MlflowClient(tracking_uri=f"sqlite:///{staging}"), artifacts, n_runs
        )
        shutil.copyfile(staging, db)
    finally:
        shutil.rmtree(staging.parent, ignore_errors=True)
    return experiment_id, run_ids, seconds


def _log_runs(client: Any, artifacts: Path, n_runs: int) -> tuple[str, list[str], float]:
    from mlflow.entities import Metric, Param

    experiment_id = client.create_experiment("xlt-bench", artifact_location=artifacts.as_uri())
    started = time.perf_counter()
    run_ids = []
    for i in range(n_runs):
        run = make_run(i)
        now_ms = int(time.time() * 1000)
        created = client.create_run(
            experiment_id, start_time=now_ms, run_name=f"run-{i}", tags={"bench": "1"}
        )
        metrics = [
            Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in mlflow_metrics(run, now_ms)
        ]
        params = [Param(k, v) for k, v in mlflow_params(run).items()]
        client.log_batch(created.info.run_id, metrics=metrics, params=params)
        client.set_terminated(created.info.run_id, "FINISHED", end_time=now_ms)
        run_ids.append(created.info.run_id)
    return experiment_id, run_ids, time.perf_counter() - started


def cached_mlflow(db: Path, artifacts: Path, n_runs: int, cache: Path | None) -> tuple[str, list[str], float]:
    """load_mlflow, or a copy of the store an earlier run of this script loaded (`--cache DIR`):
    MLflow's log_batch takes about a second per run here, so 1,000 runs take 15-20 minutes."""
    if cache is None:
        return load_mlflow(db, artifacts, n_runs)
    stored, meta = cache / f"mlflow-{n_runs}.db", cache / f"mlflow-{n_runs}.json"
    if not stored.exists():
        experiment_id, run_ids, seconds = load_mlflow(db, artifacts, n_runs)
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(db, stored)
        meta.write_bytes(
            orjson.dumps({"experiment_id": experiment_id, "run_ids": run_ids, "seconds": seconds})
        )
    shutil.copyfile(stored, db)
    saved = orjson.loads(meta.read_bytes())
    return saved["experiment_id"], saved["run_ids"], saved["seconds"]


def sqlite_bytes(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


# ── the questions ────────────────────────────────────────────────────────────────────────────────


def mean_std(values: list[float]) -> tuple[float, float, int]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)


class Xlt:
    def __init__(self, http: httpx.Client, url: str, ids: list[int], n_runs: int) -> None:
        self.http, self.url, self.ids = http, url, ids
        self.next_index = n_runs  # ingested runs continue the grid

    def ingest(self, document: bytes) -> None:
        r = self.http.post(self.url + "/api/runs/import", content=document)
        assert r.status_code == 201, r.text

    def compare(self, indexes: list[int]) -> dict[tuple[str, str], tuple[float, float, int]]:
        ids = ",".join(str(self.ids[i]) for i in indexes)
        result = self.http.get(self.url + "/api/compare", params={"runs": ids}).raise_for_status().json()
        return {(c["group"], c["language"]): (c["mean"], c["std"], c["n"]) for c in result["cells"]}

    def groups(self, groups: list[SyntheticRun]) -> dict[tuple[str, str], tuple[float, float, int]]:
        matches = [urlencode({"model": g.model, "method": g.label}, quote_via=quote) for g in groups]
        result = self.http.get(self.url + "/api/compare", params={"match": matches}).raise_for_status()
        return {(c["group"], c["language"]): (c["mean"], c["std"], c["n"]) for c in result.json()["cells"]}

    def list_runs(self) -> dict[int, float]:
        page = self.http.get(self.url + "/api/runs", params={"page_size": 1000}).raise_for_status().json()
        return {r["id"]: r["average"] for r in page["items"]}

    def history(self, index: int) -> list[float]:
        r = self.http.get(f"{self.url}/api/runs/{self.ids[index]}/history", params={"name": "loss"})
        (series,) = r.raise_for_status().json()
        return series["values"]


class Mlflow:
    API = "/api/2.0/mlflow"

    def __init__(self, http: httpx.Client, url: str, experiment_id: str, run_ids: list[str]) -> None:
        self.http, self.url, self.experiment_id, self.run_ids = http, url + self.API, experiment_id, run_ids

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.http.post(
            self.url + path, content=orjson.dumps(body), headers={"content-type": "application/json"}
        )
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def ingest(self, run: SyntheticRun) -> None:
        now_ms = int(time.time() * 1000)
        created = self._post(
            "/runs/create",
            {"experiment_id": self.experiment_id, "start_time": now_ms, "run_name": f"run-{run.index}"},
        )
        run_id = created["run"]["info"]["run_id"]
        params = [{"key": k, "value": v} for k, v in mlflow_params(run).items()]
        metrics = mlflow_metrics(run, now_ms)
        first = 1000 - len(params)
        batches = [metrics[:first]] + [metrics[i : i + 1000] for i in range(first, len(metrics), 1000)]
        for n, batch in enumerate(batches):
            self._post(
                "/runs/log-batch", {"run_id": run_id, "metrics": batch, "params": params if n == 0 else []}
            )
        self._post("/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now_ms})

    def _search(self, filter_string: str, max_results: int = 1000) -> list[dict[str, Any]]:
        body = {"experiment_ids": [self.experiment_id], "filter": filter_string, "max_results": max_results}
        return list(self._post("/runs/search", body).get("runs", []))

    @staticmethod
    def _table(runs: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, float, int]]:
        """What the user computes: group by every param but the seed, mean ± std per accuracy_ key."""
        cells: dict[tuple[str, str], list[float]] = defaultdict(list)
        for run in runs:
            params = {p["key"]: p["value"] for p in run["data"].get("params", [])}
            group = " · ".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "seed")
            for m in run["data"].get("metrics", []):
                if m["key"].startswith("accuracy_"):
                    cells[(group, m["key"].removeprefix("accuracy_"))].append(m["value"])
        return {key: mean_std(values) for key, values in cells.items()}

    def compare(self, indexes: list[int]) -> dict[tuple[str, str], tuple[float, float, int]]:
        ids = ", ".join(f"'{self.run_ids[i]}'" for i in indexes)
        return self._table(self._search(f"attributes.run_id IN ({ids})"))

    def groups(self, groups: list[SyntheticRun]) -> dict[tuple[str, str], tuple[float, float, int]]:
        table: dict[tuple[str, str], tuple[float, float, int]] = {}
        for g in groups:
            params = mlflow_params(g)
            flt = " and ".join(f"params.{k} = '{params[k]}'" for k in ("model", "method", "intermediate"))
            table |= self._table(self._search(flt))
        return table

    def list_runs(self) -> dict[str, float]:
        out = {}
        for run in self._search("", 1000):
            accuracy = [
                m["value"] for m in run["data"].get("metrics", []) if m["key"].startswith("accuracy_")
            ]
            out[run["info"]["run_id"]] = sum(accuracy) / len(accuracy)
        return out

    def history(self, index: int) -> list[float]:
        r = self.http.get(
            self.url + "/metrics/get-history", params={"run_id": self.run_ids[index], "metric_key": "loss"}
        )
        return [m["value"] for m in sorted(r.raise_for_status().json()["metrics"], key=lambda m: m["step"])]


# ── timing ───────────────────────────────────────────────────────────────────────────────────────


RETRIED: list[str] = []  # requests repeated after the server dropped the connection


def timed(fn: Callable[[], object]) -> float:
    """ms of one call; a call whose connection the server dropped (MLflow's uvicorn supervisor
    restarts a worker that misses its health check under load) is counted and timed again."""
    for _ in range(3):
        started = time.perf_counter()
        try:
            fn()
        except httpx.TransportError as exc:
            RETRIED.append(f"{type(exc).__name__}: {exc}")
            continue
        return (time.perf_counter() - started) * 1000
    raise RuntimeError(f"three dropped connections in a row: {RETRIED[-3:]}")


def compare_indexes(n_runs: int) -> list[int]:
    start = min(COMPARE_START, (n_runs - 40) // 3 * 3)
    return list(range(start, start + 40))


def check_same_answers(xlt: Xlt, ml: Mlflow, n_runs: int) -> None:
    """Both servers must give the same numbers before their speed means anything."""
    indexes = compare_indexes(n_runs)
    ours, theirs = xlt.compare(indexes), ml.compare(indexes)
    assert len(ours) == len(theirs) == 14 * len(LANGUAGES), (len(ours), len(theirs))
    assert sorted(round(v[0], 6) for v in ours.values()) == sorted(round(v[0], 6) for v in theirs.values())
    assert sorted(round(v[1], 6) for v in ours.values()) == sorted(round(v[1], 6) for v in theirs.values())
    assert xlt.history(7) == ml.history(7) == make_run(7).loss
    assert len(xlt.list_runs()) == len(ml.list_runs()) >= min(1000, n_runs)


def measure(xlt: Xlt, ml: Mlflow, repeat: int, n_runs: int) -> dict[str, tuple[list[float], list[float]]]:
    compare_idx = compare_indexes(n_runs)
    groups = [make_run(i, points=0) for i in GROUP_STARTS if i + 3 <= n_runs]
    questions: dict[str, tuple[Callable[[int], object], Callable[[int], object]]] = {
        "compare 40 runs grouped by seed": (
            lambda k: xlt.compare(compare_idx),
            lambda k: ml.compare(compare_idx),
        ),
        "the same table for 6 groups": (lambda k: xlt.groups(groups), lambda k: ml.groups(groups)),
        "list 1,000 runs with averages": (lambda k: xlt.list_runs(), lambda k: ml.list_runs()),
        "one run's loss history (1,000 points)": (
            lambda k: xlt.history(k * 37 % n_runs),
            lambda k: ml.history(k * 37 % n_runs),
        ),
    }
    # ingest: documents and runs made before the clock starts
    extra = [make_run(n_runs + k) for k in range(repeat + 2)]
    documents = [orjson.dumps(xlt_results_json(r)) for r in extra]
    times: dict[str, tuple[list[float], list[float]]] = {}
    ingest: tuple[list[float], list[float]] = ([], [])
    for k in range(repeat + 2):
        a = timed(partial(xlt.ingest, documents[k]))
        b = timed(partial(ml.ingest, extra[k]))
        if k >= 2:
            ingest[0].append(a)
            ingest[1].append(b)
    times["ingest one finished run"] = ingest
    for label, (ours, theirs) in questions.items():
        pair: tuple[list[float], list[float]] = ([], [])
        for k in range(repeat + 2):
            a, b = timed(partial(ours, k)), timed(partial(theirs, k))
            if k >= 2:
                pair[0].append(a)
                pair[1].append(b)
        times[label] = pair
    return times


@dataclass
class Phase:
    label: str
    processes: int
    times: dict[str, tuple[list[float], list[float]]]
    rss: tuple[float, float]
    load: str


@contextlib.contextmanager
def running(server: servers.Server) -> Iterator[servers.Server]:
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("bench/out/mlflow_compare.md"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--cache", type=Path, default=None, help="reuse MLflow stores loaded before (a folder)"
    )
    args = parser.parse_args(argv)
    import mlflow

    root = Path(tempfile.mkdtemp(prefix="xlt-vs-mlflow-"))
    started_at = datetime.now(UTC)
    load_before = servers.load_average()
    print(f"{started_at:%Y-%m-%d %H:%M} UTC, load {load_before}, folder {root}", flush=True)

    ids, xlt_load_s = load_xlt(root / "xlt", args.runs)
    xlt_db = root / "xlt" / "xlt.db"
    xlt_bytes = sqlite_bytes(xlt_db)
    print(
        f"XLT Lab: {args.runs} runs stored in {xlt_load_s:.1f} s, {xlt_bytes / args.runs / 1000:.1f} KB/run",
        flush=True,
    )
    ml_db, artifacts = root / "mlflow.db", root / "mlartifacts"
    experiment_id, run_ids, ml_load_s = cached_mlflow(ml_db, artifacts, args.runs, args.cache)
    ml_bytes = sqlite_bytes(ml_db)
    print(
        f"MLflow: {args.runs} runs stored in {ml_load_s:.1f} s, {ml_bytes / args.runs / 1000:.1f} KB/run",
        flush=True,
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")}
    env |= {"XLT_HOME": str(root / "xlt"), "XLT_LOG_LEVEL": "warning"}
    phases: list[Phase] = []
    with (
        running(servers.xlt_serve(env, root / "xlt-serve.log")) as xlt_server,
        httpx.Client(timeout=120) as http,
    ):
        for workers in (1, None):
            log = root / f"mlflow-{workers or 'default'}.log"
            with running(servers.mlflow_server(f"sqlite:///{ml_db}", artifacts, log, workers)) as ml_server:
                xlt, ml = (
                    Xlt(http, xlt_server.url, ids, args.runs),
                    Mlflow(http, ml_server.url, experiment_id, run_ids),
                )
                check_same_answers(xlt, ml, args.runs)
                load = servers.load_average()
                times = measure(xlt, ml, args.repeat, args.runs)
                phases.append(
                    Phase(
                        label=ml_server.name,
                        processes=ml_server.processes(),
                        times=times,
                        rss=(xlt_server.rss_mib(), ml_server.rss_mib()),
                        load=f"{load} → {servers.load_average()}",
                    )
                )
                print(f"{ml_server.name} done, load {servers.load_average()}", flush=True)

    lines = [
        f"XLT Lab against MLflow {mlflow.__version__} over HTTP, {args.runs:,} runs, "
        f"{started_at:%Y-%m-%d %H:%M} UTC, {servers.machine()}.",
        f"Medians of {args.repeat} requests each (after 2 warm-ups), XLT Lab and MLflow alternating; "
        f"bulk load: XLT Lab {xlt_load_s:.0f} s (store), MLflow {ml_load_s:.0f} s (log_batch).",
        "",
        "| question | XLT Lab ms | MLflow 1 worker ms | ratio "
        "| XLT Lab ms | MLflow 4 workers ms | ratio | ≥ 10× |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ok = True
    for label in phases[0].times:
        cells = []
        worst = float("inf")
        for phase in phases:
            ours, theirs = (statistics.median(t) for t in phase.times[label])
            ratio = theirs / ours
            worst = min(worst, ratio)
            cells += [f"{ours:.1f}", f"{theirs:.1f}", f"{ratio:.1f} ×"]
        ok &= worst >= TARGET
        lines.append(f"| {label} | {' | '.join(cells)} | {'yes' if worst >= TARGET else '**no**'} |")
    rss_cells = []
    worst = float("inf")
    for phase in phases:
        ours, theirs = phase.rss
        worst = min(worst, theirs / ours)
        rss_cells += [
            f"{ours:.0f} MiB",
            f"{theirs:.0f} MiB ({phase.processes} proc.)",
            f"{theirs / ours:.1f} ×",
        ]
    ok &= worst >= TARGET
    verdict = "yes" if worst >= TARGET else "**no**"
    lines.append(f"| server RSS after the questions | {' | '.join(rss_cells)} | {verdict} |")
    per_run = ml_bytes / xlt_bytes
    lines.append(
        f"| database bytes per run | {xlt_bytes / args.runs / 1000:.1f} KB "
        f"| {ml_bytes / args.runs / 1000:.1f} KB | "
        f"{per_run:.1f} × | | | | {'yes' if per_run >= TARGET else '**no**'} |"
    )
    lines += ["", f"Load average (1/5/15 min) at the start {load_before}; during each phase: "]
    lines += [f"- {p.label}: {p.load}" for p in phases]
    if RETRIED:
        lines += ["", f"Requests repeated after the server dropped the connection: {len(RETRIED)}"]
    text = "\n".join(lines)
    servers.finish(text, args.out, root, args.keep)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
