"""`xlt serve`: migrates, serves light (no torch, < 300 MiB), TCP_NODELAY on keep-alive, stops clean."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from backend.settings import Settings
from tests.factories import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_xlt_serve_migrates_and_serves_without_torch_under_300_mib(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")}
    env["XLT_HOME"] = str(tmp_path / "home")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "xlt.cli", "serve", "--no-worker", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                alive = proc.poll() is None and time.monotonic() < deadline
                assert alive, (tmp_path / "serve.log").read_text()[-3000:]
                time.sleep(0.2)
        assert health.status_code == 200, health.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/runs").json()["total"] == 0  # migrated
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "libtorch" not in maps, "the API process loaded torch"
        rss_kib = int(
            next(
                line
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                if line.startswith("VmRSS")
            ).split()[1]
        )
        assert rss_kib < 300 * 1024, f"API process uses {rss_kib / 1024:.0f} MiB"
        assert (tmp_path / "home" / "xlt.db").is_file()

        config = tmp_path / "run.yaml"
        config.write_text("task: xnli\nmodel: some/model\ntrain: {device: cpu}\n")
        submitted = subprocess.run(
            [sys.executable, "-m", "xlt.cli", "submit", str(config), "--url", f"http://127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        assert submitted.returncode == 0, submitted.stderr
        assert submitted.stdout.startswith("run 1 queued on cpu")
        config.write_text("task: xnli\nmodel: m\ntrain: {batch_size: 0}\n")
        rejected = subprocess.run(
            [sys.executable, "-m", "xlt.cli", "submit", str(config), "--url", f"http://127.0.0.1:{port}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        assert rejected.returncode == 2 and "train.batch_size" in rejected.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_kept_alive_connections_have_tcp_nodelay_and_answer_fast(embedded_settings: Settings) -> None:
    from backend.app import create_app

    config = uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            timings = []
            for _ in range(30):
                start = time.perf_counter()
                client.post("/api/runs", json={"task": "xnli", "model": "m", "train": {"learning_rate": -1}})
                timings.append(time.perf_counter() - start)
            sockets = [c.transport.get_extra_info("socket") for c in server.server_state.connections]  # type: ignore[attr-defined]
            assert sockets
            assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)
        assert statistics.median(timings) < 0.03, timings  # Nagle + delayed ACK would add ~40 ms
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_sigterm_to_xlt_serve_stops_its_local_worker(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")}
    env["XLT_HOME"] = str(tmp_path / "home")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "xlt.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        children: list[int] = []
        while not children:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[
                -3000:
            ]
            children_file = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            children = [int(p) for p in children_file.read_text().split()]
            time.sleep(0.2)
        while True:  # the API is up
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.2)
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        worker = Path(f"/proc/{children[0]}")
        for _ in range(100):
            if not worker.exists() or "Z" in (worker / "stat").read_text().split()[2]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the local worker outlived `xlt serve`")
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
