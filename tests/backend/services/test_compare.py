"""backend.services.compare: one compare use case for the API, the compare page and shared views."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

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


def test_deltas_carry_the_seed_paired_t_interval_and_noise_is_marked(embedded_settings: Settings) -> None:
    """Three seeds each, paired by seed: the interval is Student's t over the per-seed differences
    (scipy.stats); a +1.9 point delta that flips sign across seeds is noise, a steady one is not."""
    base = {1: 0.50, 2: 0.56, 3: 0.47}
    noisy = {1: 0.55, 2: 0.53, 3: 0.507}  # differences +5, -3, +3.7 points
    steady = {1: 0.52, 2: 0.585, 3: 0.49}  # differences +2, +2.5, +2 points
    ids = [_finished("none", s, v) for s, v in base.items()]
    ids += [_finished("rs_rp", s, v) for s, v in noisy.items()]
    ids += [_finished("adv", s, v) for s, v in steady.items()]
    result = compare_runs(ids, default_baseline=True)
    sw = {c.group.split(" · ")[-1]: c for c in result.cells if c.language == "sw"}
    for method, values in (("rs_rp", noisy), ("adv", steady)):
        diffs = [values[s] - base[s] for s in base]
        low, high = stats.t.interval(0.95, len(diffs) - 1, loc=np.mean(diffs), scale=stats.sem(diffs))
        assert (sw[method].ci_low, sw[method].ci_high) == (pytest.approx(low), pytest.approx(high))
    assert sw["rs_rp"].delta == pytest.approx(0.019, abs=1e-9) and sw["rs_rp"].delta_is_noise
    assert not sw["adv"].delta_is_noise
    assert sw["baseline"].ci_low is None and sw["baseline"].delta == 0.0


def test_one_seed_a_side_has_no_interval_and_is_never_coloured(embedded_settings: Settings) -> None:
    ids = [_finished("none", 1, 0.40), _finished("rs_rp", 1, 0.60)]
    sw = next(c for c in compare_runs(ids, default_baseline=True).cells if c.language == "sw" and c.delta)
    assert sw.ci_low is None and sw.ci_high is None and sw.delta_is_noise
