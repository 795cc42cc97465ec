"""`xlt train` end to end as a subprocess: results.json, the score table, one-line config errors
naming the field, and nothing half-written in --out when a run fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from worker.training.results import RunResult

XLT = Path(sys.executable).parent / "xlt"  # the command installed beside this interpreter


def _xlt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([str(XLT), "train", *args], capture_output=True, text=True, env=env, timeout=300)


def _config(tiny_model: Path, shared_data: Path) -> dict[str, object]:
    return {
        "name": "cli smoke",
        "task": "xnli",
        "model": str(tiny_model),
        "data": {"source": "local", "dir": str(shared_data)},
        "intermediate": {"epochs": 1, "max_examples": 32},
        "robust": {"method": "rs_da", "copies": 1},
        "train": {"epochs": 1, "batch_size": 16, "max_train_examples": 32},
        "eval": {"languages": ["en", "sw"]},
    }


def test_xlt_train_yaml_config_writes_results_json_and_prints_table(
    tmp_path: Path, tiny_model: Path, shared_data: Path
) -> None:
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump(_config(tiny_model, shared_data)))
    out = tmp_path / "out"
    proc = _xlt(str(config_path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]
    result = RunResult.model_validate(json.loads((out / "results.json").read_text()))
    assert result.status == "succeeded"
    assert [(s.language, s.n) for s in result.scores] == [("en", 498), ("sw", 498)]
    assert result.config["name"] == "cli smoke"
    assert {h.stage for h in result.history} == {"intermediate", "task"}
    assert result.environment["device"] == "cpu" and result.environment["torch"]
    assert result.environment["cpu_fp32_linear"] in ("onednn", "mkl") or all(
        part.split("=")[1] in ("onednn", "mkl") for part in result.environment["cpu_fp32_linear"].split(",")
    )
    assert "sw" in proc.stdout and "accuracy" in proc.stdout


def test_xlt_train_config_error_names_the_field_and_exits_2(
    tmp_path: Path, tiny_model: Path, shared_data: Path
) -> None:
    raw = _config(tiny_model, shared_data)
    raw["robust"] = {"method": "smoothing"}
    config_path = tmp_path / "bad.json"
    config_path.write_text(json.dumps(raw))
    out = tmp_path / "out"
    proc = _xlt(str(config_path), "--out", str(out))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line
    assert "robust.method" in line and "'rs_da'" in line
    assert not out.exists()


def test_xlt_train_missing_data_fails_without_half_written_results(
    tmp_path: Path, tiny_model: Path, shared_data: Path
) -> None:
    raw = _config(tiny_model, shared_data)
    raw["data"] = {"source": "local", "dir": str(tmp_path / "nowhere")}
    config_path = tmp_path / "run.json"
    config_path.write_text(json.dumps(raw))
    out = tmp_path / "out"
    out.mkdir()
    proc = _xlt(str(config_path), "--out", str(out))
    assert proc.returncode == 1
    assert str(tmp_path / "nowhere" / "xnli" / "train.en.jsonl") in proc.stderr
    assert list(out.iterdir()) == []


def test_xlt_train_prints_the_did_not_learn_warning_on_its_own_line_beside_the_progress_bar(
    tmp_path: Path, tiny_model: Path, shared_data: Path
) -> None:
    config = {
        "task": "xnli",
        "model": str(tiny_model),
        "data": {"source": "local", "dir": str(shared_data)},
        "train": {"epochs": 15, "learning_rate": 1e-9, "batch_size": 16, "max_train_examples": 64},
        "eval": {"languages": ["en"]},
    }
    config_path = tmp_path / "stuck.yaml"
    config_path.write_text(yaml.safe_dump(config))
    proc = _xlt(str(config_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    segments = proc.stderr.replace("\r", "\n").splitlines()  # the bar redraws itself with \r
    assert any(s.startswith("the task stage did not learn") for s in segments), proc.stderr[-2000:]
