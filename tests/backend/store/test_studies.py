"""A finished run's warnings and per-example bitsets reach the database with its scores (fenced like
them), and a study's inputs come back in one query each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from backend import store
from backend.db import get_engine
from backend.settings import Settings
from tests.factories import embedded, fake_result, postgres_redis, tiny_config
from worker.training.config import RunConfig
from worker.training.correctness import CorrectnessBits, decode_correctness, encode_correctness
from worker.training.results import RunResult, RunWarning


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    environment = embedded if request.param == "sqlite" else postgres_redis
    with environment(tmp_path / "xlt") as settings:
        yield settings


def _result(seed: int, stuck: bool = False) -> RunResult:
    result = fake_result(tiny_config(train={"device": "cpu", "seed": seed}), {"en": 0.8, "sw": 0.5})
    result.correctness = {
        "xnli": {"en": encode_correctness([True, False, True]), "sw": encode_correctness([0, 1])}
    }
    if stuck:
        result.warnings = [RunWarning(code="stuck_at_chance", message="the task stage did not learn")]
    return result


def _sweep(n: int) -> tuple[int, list[int]]:
    planned = [(RunConfig.model_validate(tiny_config(train={"seed": s})), "cpu", f"t{s}") for s in range(n)]
    experiment, run_ids = store.create_sweep("s", "", {"base": {}}, planned, kind="study")
    return experiment.id, run_ids


def test_complete_run_stores_warnings_and_bitsets_in_the_fenced_transaction(
    any_database: Settings,
) -> None:
    experiment_id, (run_id,) = _sweep(1)
    claim = store.claim_run(run_id, "host", None)
    assert claim is not None
    with pytest.raises(store.LostOwnership):
        store.complete_run(run_id, _result(1, stuck=True), attempt=claim.attempt + 1)
    assert store.study_inputs(experiment_id, "test").correctness == []  # a fenced-out attempt stores nothing
    store.complete_run(run_id, _result(1, stuck=True), attempt=claim.attempt)
    store.complete_run(run_id, _result(1, stuck=True))  # stored again: one set of bitsets
    run = store.get_run(run_id)
    assert run is not None and [w.code for w in run.warnings] == ["stuck_at_chance"]
    inputs = store.study_inputs(experiment_id, "test")
    assert sorted(r[:3] for r in inputs.correctness) == [(run_id, "xnli", "en"), (run_id, "xnli", "sw")]
    en = next(r for r in inputs.correctness if r[2] == "en")
    assert en[3] == 3 and decode_correctness(CorrectnessBits(n=en[3], bits=en[4])).tolist() == [
        True,
        False,
        True,
    ]
    assert sorted((lang, v) for _, _, lang, v in inputs.scores) == [("en", 0.8), ("sw", 0.5)]
    assert store.get_experiment(experiment_id).kind == "study"  # type: ignore[union-attr]


def test_study_inputs_are_three_queries_whatever_the_number_of_runs(any_database: Settings) -> None:
    experiment_id, run_ids = _sweep(12)
    for seed, run_id in enumerate(run_ids):
        store.complete_run(run_id, _result(seed, stuck=seed == 3))
    statements: list[str] = []
    engine = get_engine()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        inputs = store.study_inputs(experiment_id, "test")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
    assert len(inputs.runs) == 12 and len(inputs.scores) == 24 and len(inputs.correctness) == 24
    assert inputs.runs[3].warnings[0]["code"] == "stuck_at_chance"
    assert {r.source_language for r in inputs.runs} == {"en"}
    assert store.study_state(experiment_id).finished == 12
