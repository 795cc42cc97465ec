"""backend.services.compare: one compare use case for the API, the compare page and shared views."""

from __future__ import annotations

import pytest

from backend import store
from backend.errors import NotFound
from backend.services.compare import NothingToCompare, compare_runs
from backend.settings import Settings
from tests.factories import fake_result, tiny_config


def _finished(method: str, seed: int, sw: float) -> int:
    config = tiny_config(robust={"method": method}, train={"device": "cpu", "seed": seed})
    return store.import_result(fake_result(config, {"en": 0.8, "sw": sw}))


def test_unknown_runs_are_named_not_dropped(embedded_settings: Settings) -> None:
    known = _finished("none", 1, 0.5)
    with pytest.raises(NotFound, match="runs not found: 998, 999"):
        compare_runs([known, 999, 998])
    with pytest.raises(NotFound, match="experiment 7 not found"):
        compare_runs(experiment_id=7)
    with pytest.raises(NothingToCompare):
        compare_runs([])


def test_the_default_baseline_is_the_first_plain_run_and_deltas_are_against_it(
    embedded_settings: Settings,
) -> None:
    ids = [_finished("rs_rp", 1, 0.6), _finished("none", 1, 0.5), _finished("none", 2, 0.52)]
    assert compare_runs(ids).baseline is None  # the API asks for deltas explicitly
    result = compare_runs(ids, default_baseline=True)
    assert result.baseline is not None and result.baseline.endswith("baseline")
    sw = {c.group.split(" · ")[-1]: c for c in result.cells if c.language == "sw"}
    assert sw["baseline"].n == 2 and sw["rs_rp"].delta == pytest.approx(0.6 - 0.51)
