"""Servers the HTTP benchmarks start on 127.0.0.1 and time from outside: `xlt serve` and `mlflow
server`, each in its own process group, with what the report needs of them (resident memory of the
whole process tree) and the machine's state (load average) next to every figure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return f"{psutil.cpu_count()} cores of {cpu}, {mem:.0f} GiB"


def process_cpu(pids: list[int], children: bool = False) -> float:
    """User + system CPU seconds of these processes (and their children): what a request cost,
    whatever else the machine is doing (wall time on a loaded 2-core machine is mostly waiting)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(pid)
            for p in [root, *(root.children(recursive=True) if children else [])]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = p.cpu_times()
                    total += t.user + t.system
    return total


def postgres_backends(database: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to `database` (their CPU is the query's)."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [int(r[0]) for r in rows]


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def rss_mib(self) -> float:
        """Resident memory of the server and every process it started (uvicorn workers), MiB."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 2**20

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its children so far."""
        return process_cpu([self.proc.pid], children=True)

    def processes(self) -> int:
        try:
            return 1 + len(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return 0

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start(
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    port: int,
    health: str,
    log: Path,
    wait_s: float = 180,
) -> Server:
    """Start `argv` in a new process group (stop() ends the whole group: uvicorn workers, MLflow's job
    consumers) and wait until GET `health` answers 200."""
    handle = log.open("wb")
    proc = subprocess.Popen(
        list(argv), cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {server.log_tail()}")
        try:
            if httpx.get(server.url + health, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer {health} within {wait_s:.0f} s: {server.log_tail()}")


def xlt_serve(env: dict[str, str], log: Path, *, with_worker: bool = False) -> Server:
    """`xlt serve` (embedded or deployment mode, from `env`), without its local worker unless asked."""
    port = free_port()
    argv = [str(BIN / "xlt"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return start("xlt", argv + ([] if with_worker else ["--no-worker"]), env, port, "/healthz", log)


def mlflow_server(backend_uri: str, artifacts: Path, log: Path, workers: int | None) -> Server:
    """`mlflow server` on 127.0.0.1 with this backend store; `workers` None: its default (4)."""
    port = free_port()
    argv = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--default-artifact-root",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if workers is not None:
        argv += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")}
    # MLflow 3 starts 7 job-consumer processes beside uvicorn: minutes on a loaded 2-core machine
    return start(f"mlflow ({workers or 'default'} workers)", argv, env, port, "/health", log, wait_s=600)


def finish(text: str, out: Path, root: Path, keep: bool) -> None:
    """Print a bench's Markdown report, save it to `out`, and remove its scratch folder unless kept."""
    import shutil

    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
