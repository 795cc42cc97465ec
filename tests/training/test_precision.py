"""The runtime: bf16 on a CPU is advised against only where this CPU's measured bf16 GEMMs are the
slower ones, and the run's half of the speed-ups switch travels with the runtime."""

from __future__ import annotations

import pytest

from worker.training import precision
from worker.training.config import TrainConfig
from worker.training.precision import resolve_runtime


@pytest.mark.parametrize("speedup", [0.6, 5.5])
def test_bf16_on_a_cpu_warns_only_where_its_measured_matmul_rate_is_below_fp32(
    speedup: float, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda: speedup)
    with caplog.at_level("WARNING", logger="worker.training.precision"):
        resolve_runtime(TrainConfig(device="cpu", precision="bf16"))
        resolve_runtime(TrainConfig(device="cpu", precision="fp32"))
    warnings = [r.getMessage() for r in caplog.records]
    if speedup < 1:
        assert len(warnings) == 1 and "0.60x the fp32 rate" in warnings[0]
    else:
        assert warnings == []


def test_the_runtime_carries_train_speedups() -> None:
    assert resolve_runtime(TrainConfig(device="cpu")).speedups
    assert not resolve_runtime(TrainConfig(device="cpu", speedups=False)).speedups
