"""bench/minilm_study: the grid it runs, its overrides, and that finished runs are skipped on a rerun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import minilm_study
from worker.training.config import RunConfig


def test_seeds_and_overrides() -> None:
    assert minilm_study.parse_seeds("1-3") == [1, 2, 3]
    assert minilm_study.parse_seeds("1,2, 5,2") == [1, 2, 5]
    base = minilm_study.study_config(
        "baseline", 2, "fp32", "/m", ["train.epochs=1", "intermediate.max_examples=8"]
    )
    assert base["intermediate"] is None  # a section the method does not have is not switched on
    stsb = minilm_study.study_config(
        "stsb", 2, "fp32", "/m", ["intermediate.max_examples=8", "eval.extra=[]"]
    )
    assert stsb["intermediate"]["max_examples"] == 8 and stsb["eval"]["extra"] == []
    config = RunConfig.model_validate(stsb)
    assert (config.model, config.train.seed, config.train.precision, config.method_label) == (
        "/m",
        2,
        "fp32",
        "stsb",
    )
    for method in minilm_study.METHODS:
        assert (
            RunConfig.model_validate(minilm_study.study_config(method, 1, "fp32", "/m", [])).method_label
            == method
        )


def test_finished_runs_are_skipped_and_the_rest_run_seed_by_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []
    result = {"summary": {"average": 0.5, "by_resource_tier": {"low": 0.4}}, "warnings": []}

    def fake_run(config: dict[str, Any], out: Path) -> float:
        ran.append(out.name)
        out.mkdir(parents=True)
        (out / "results.json").write_text(json.dumps(result))
        return 0.0

    monkeypatch.setattr(minilm_study, "run_one", fake_run)
    done = tmp_path / "rs_rp-seed1"
    done.mkdir()
    (done / "results.json").write_text(json.dumps(result))
    minilm_study.main(
        ["--methods", "baseline,rs_rp", "--seeds", "1-2", "--out", str(tmp_path), "--model", "/m"]
    )
    assert ran == ["baseline-seed1", "baseline-seed2", "rs_rp-seed2"]
    table = capsys.readouterr().out
    assert "| baseline | 2 | 50.0 ± 0.0 | 40.0 ± 0.0 |" in table
