"""Packed metric series: lossless round trips, a worker's chunks read as one series, a resumed
attempt's truncation, and a finished run compacted to one row per series."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from backend import store
from backend.db import session
from backend.metric_codec import pack, unpack
from backend.models import MetricChunk
from backend.settings import Settings
from backend.store.series import MERGED_POINTS, TAIL_CHUNKS
from tests.factories import embedded, fake_result, postgres_redis, tiny_config
from worker.training.config import RunConfig


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    environment = embedded if request.param == "sqlite" else postgres_redis
    with environment(tmp_path / "xlt") as settings:
        yield settings


def _chunks(run_id: int) -> int:
    with session() as s:
        return int(s.scalar(select(func.count()).where(MetricChunk.run_id == run_id)) or 0)


@pytest.mark.parametrize(
    ("steps", "values"),
    [
        ([1, 2, 3], [float(np.float32(v)) for v in (2.3, 1.1, 0.7)]),  # float32 losses
        ([10, 5, 7], [2e-5 * (1 - s / 7) for s in range(3)]),  # float64 learning rates, out of order
        ([-(2**63), 2**63 - 1], [math.inf, -0.0]),  # steps whose delta overflows int64
        ([0], [1e300]),
    ],
)
def test_packing_is_lossless(steps: list[int], values: list[float]) -> None:
    assert unpack(pack(steps, values)) == (steps, values)


def test_a_thousand_float32_losses_take_a_few_kilobytes() -> None:
    rng = np.random.default_rng(0)
    losses = [float(v) for v in rng.random(1000, dtype=np.float32)]
    assert len(pack(list(range(1, 1001)), losses)) < 4_200  # 60 KB as one row per point


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="as many steps as values"):
        pack([1, 2], [0.5])
    with pytest.raises(ValueError, match="not a packed metric series"):
        unpack(b"\x00junk")


def test_progress_chunks_read_as_one_series_truncate_on_resume_and_compact_when_done(
    any_database: Settings,
) -> None:
    config = tiny_config()
    run_id = store.create_run(RunConfig.model_validate(config), queue="cpu", task_id="t").id
    claim = store.claim_run(run_id, "host", None)
    assert claim is not None
    for first in (1, 4, 7):  # three progress writes of three loss points each
        points = [("task", "loss", s, 1.0 / s) for s in range(first, first + 3)]
        lr = math.nan if first == 4 else 1e-5
        store.record_progress(run_id, attempt=claim.attempt, points=[*points, ("task", "lr", first, lr)])
    assert _chunks(run_id) == 5  # the NaN learning rate is a gap, not a point
    loss, lr_series = store.get_history(run_id)
    assert (loss.name, loss.steps, lr_series.steps) == ("loss", list(range(1, 10)), [1, 7])

    # a resumed attempt rewrites from step 5: the chunk 4-6 is cut, 7-9 (and lr at 7) dropped
    store.record_progress(
        run_id, attempt=claim.attempt, points=[("task", "loss", 5, 0.5)], replace_from={"task": 5}
    )
    [loss] = store.get_history(run_id, names=["loss"])
    assert loss.steps == [1, 2, 3, 4, 5] and loss.values == [1.0, 0.5, 1 / 3, 0.25, 0.5]

    store.complete_run(run_id, fake_result(config, {"en": 0.8}), attempt=claim.attempt)
    assert _chunks(run_id) == 2  # loss and lr, one row each
    assert [x.steps for x in store.get_history(run_id)] == [[1, 2, 3, 4, 5], [1]]
    assert store.get_history(run_id, max_points=3)[0].steps == [1, 3, 5]


def test_a_long_streamed_series_stays_a_few_chunks(any_database: Settings) -> None:
    """A worker writes every second: 1,000 writes of 3 points keep the series readable in a few dozen
    rows, every point in order."""
    run_id = store.create_run(RunConfig.model_validate(tiny_config()), queue="cpu", task_id="t").id
    claim = store.claim_run(run_id, "host", None)
    assert claim is not None
    for write in range(1000):
        points = [("task", "loss", 3 * write + i, float(write)) for i in range(3)]
        store.record_progress(run_id, attempt=claim.attempt, points=points)
    assert _chunks(run_id) <= 3000 // MERGED_POINTS + TAIL_CHUNKS
    [loss] = store.get_history(run_id, max_points=10_000)
    assert loss.steps == list(range(3000)) and loss.values == [float(s // 3) for s in range(3000)]
