"""Fixtures for end-to-end tests: a tiny model and a real `xlt worker` process on the configured broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import WorkerProcess, build_tiny_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[type[WorkerProcess]]:
    started: list[WorkerProcess] = []

    def factory() -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield factory  # type: ignore[misc]
    for worker in started:
        worker.stop()
