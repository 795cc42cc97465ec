"""Resume, not restart: a run stopped at any optimiser step (cancelled, or its worker lost mid-step)
and run again with the same checkpoint folder ends with the model, scores, history and selected
checkpoint of a run that was never interrupted, bit for bit on CPU in fp32, with the speed-ups on
and off, mid-epoch, at an epoch end, with gradient accumulation, and in either stage of an STS-B
run. A checkpoint that is corrupt or another config's is skipped with a warning, never a crash.
Also here: cancel honoured while loading and during evaluation."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from worker.training import evaluation
from worker.training import run as run_mod
from worker.training.checkpoints import (
    BEST_FILE,
    FORMAT_VERSION,
    MANIFEST,
    STATE_FILE,
    CheckpointPolicy,
    complete_checkpoints,
    remove_checkpoints,
)
from worker.training.reporter import NullReporter, RunCancelled
from worker.training.results import HistoryPoint, ResumeInfo, RunResult
from worker.training.run import run
from worker.training.speedups import onednn_linear
from worker.training.speedups.onednn_linear import ALL_ONEDNN, LinearKernels
from xlt.cli import main


class WorkerLost(Exception):
    """Stands for a SIGKILL: the run ends in the middle of a step, nothing is cleaned up."""


class Interrupt(NullReporter):
    """Cancels the run once it has taken `after` optimiser steps (all stages counted), or with
    `crash` raises from inside that step, before its checkpoint could be written."""

    def __init__(self, after: int, crash: bool = False) -> None:
        self.after, self.crash = after, crash
        self.steps = 0
        self.stages: list[str] = []

    def on_stage(self, stage: str, total_steps: int) -> None:
        self.stages.append(stage)

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        self.steps += 1
        if self.crash and self.steps == self.after:
            raise WorkerLost(f"lost at {point.stage} step {point.step}")

    def should_stop(self) -> bool:
        return not self.crash and self.steps >= self.after


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, torch.Tensor]]:
    """The weights of the model each finished run evaluates (the runs here score one language)."""
    seen: list[dict[str, torch.Tensor]] = []
    real = run_mod.score_language

    def recording(model: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real(model, *args, **kwargs)

    monkeypatch.setattr(run_mod, "score_language", recording)
    return seen


def interrupted_then_resumed(config: Any, policy: CheckpointPolicy, reporter: Interrupt) -> RunResult:
    with pytest.raises((RunCancelled, WorkerLost)):
        run(config, reporter, policy)
    assert complete_checkpoints(policy.directory), "the interrupted run left a checkpoint"
    return run(config, None, policy)


def assert_same_run(resumed: RunResult, straight: RunResult, models: list[dict[str, torch.Tensor]]) -> None:
    assert resumed.scores == straight.scores
    assert resumed.history == straight.history
    assert resumed.selected_checkpoint == straight.selected_checkpoint
    assert resumed.augmentation == straight.augmentation
    straight_model, resumed_model = models
    assert straight_model.keys() == resumed_model.keys()
    assert all(torch.equal(straight_model[k], resumed_model[k]) for k in straight_model)


def small(make_config: Any, **overrides: Any) -> Any:
    """8 optimiser steps (2 epochs of 4), dropout on, English test only: a few seconds a run."""
    train = {"epochs": 2, **overrides.pop("train", {})}
    evaluation = {"languages": ["en"], **overrides.pop("eval", {})}
    return make_config(train=train, eval=evaluation, **overrides)


@pytest.mark.parametrize(
    ("train", "robust"),
    [
        ({"speedups": True}, "rs_rp"),
        ({"speedups": False}, "rs_rp"),
        ({"grad_accum": 2, "max_train_examples": 48}, "none"),  # 3 batches an epoch: steps cross epochs
    ],
    ids=["speedups-on", "speedups-off", "grad-accum-across-epochs"],
)
def test_run_resumed_mid_epoch_equals_an_uninterrupted_run(
    make_config: Any, tmp_path: Path, evaluated: list[Any], train: dict[str, Any], robust: str
) -> None:
    config = small(make_config, train=train, robust={"method": robust})
    straight = run(config)
    policy = CheckpointPolicy(tmp_path / "ckpt", every_minutes=0)  # a checkpoint at every step
    resumed = interrupted_then_resumed(config, policy, Interrupt(after=3))
    assert resumed.resume == ResumeInfo(stage="task", step=3)
    assert len(evaluated) == 2
    assert_same_run(resumed, straight, evaluated)


def test_resumed_run_keeps_the_linear_kernels_it_started_with(
    make_config: Any, tmp_path: Path, evaluated: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the per-process probe sits near its threshold on some CPUs: the next process may choose otherwise
    config = small(make_config)
    monkeypatch.setattr(onednn_linear, "cpu_fp32_linear_kernels", lambda: ALL_ONEDNN)
    straight = run(config)
    policy = CheckpointPolicy(tmp_path / "ckpt", every_minutes=0)
    with pytest.raises(RunCancelled):
        run(config, Interrupt(after=3), policy)
    monkeypatch.setattr(onednn_linear, "cpu_fp32_linear_kernels", lambda: LinearKernels("mkl", "mkl", "mkl"))
    resumed = run(config, None, policy)
    assert resumed.environment["cpu_fp32_linear"] == straight.environment["cpu_fp32_linear"] == "onednn"
    assert_same_run(resumed, straight, evaluated)


def test_worker_lost_mid_epoch_resumes_from_the_last_epoch_end(
    make_config: Any, tmp_path: Path, evaluated: list[Any]
) -> None:
    robust = {"method": "rs_da", "copies": 1, "keep_original": True}
    config = small(make_config, robust=robust, train={"max_train_examples": 32})
    straight = run(config)  # 32 examples and a copy of each: 4 steps an epoch
    policy = CheckpointPolicy(tmp_path / "ckpt")  # default: epoch ends (and every 30 minutes)
    resumed = interrupted_then_resumed(config, policy, Interrupt(after=7, crash=True))
    assert resumed.resume == ResumeInfo(stage="task", step=4)
    assert_same_run(resumed, straight, evaluated)


@pytest.mark.parametrize(("after", "resume_at"), [(3, ("intermediate", 3)), (6, ("task", 2))])
def test_sts_intermediate_run_resumes_in_either_stage(
    make_config: Any, tmp_path: Path, evaluated: list[Any], after: int, resume_at: tuple[str, int]
) -> None:
    config = small(
        make_config,
        intermediate={"epochs": 2, "max_examples": 32, "batch_size": 16, "learning_rate": 1e-3},
        train={"epochs": 1},
    )  # 4 STS-B steps, then 4 task steps
    straight = run(config)
    policy = CheckpointPolicy(tmp_path / "ckpt", every_minutes=0)
    with pytest.raises(RunCancelled):
        run(config, Interrupt(after), policy)
    watcher = Interrupt(after=10**6)
    resumed = run(config, watcher, policy)
    stage, step = resume_at
    assert resumed.resume == ResumeInfo(stage=stage, step=step)  # type: ignore[arg-type]
    # a checkpoint taken after stage 1 goes straight on in stage 2, fresh head and all
    assert watcher.stages == (["task"] if stage == "task" else ["intermediate", "task"])
    assert_same_run(resumed, straight, evaluated)
    # stage 1's STS-B dev correlations are reported even when the resumed attempt skipped it
    assert resumed.intermediate is not None and resumed.intermediate == straight.intermediate


def test_corrupt_newest_checkpoint_falls_back_to_the_one_before(
    make_config: Any, tmp_path: Path, evaluated: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    config = small(make_config)
    straight = run(config)
    policy = CheckpointPolicy(tmp_path / "run-7", every_minutes=0)
    with pytest.raises(RunCancelled):
        run(config, Interrupt(after=5), policy)
    # five written, the newest two kept, nothing half-written left behind
    assert sorted(p.name for p in policy.directory.iterdir()) == ["ckpt-000004", "ckpt-000005"]
    older, newest = complete_checkpoints(policy.directory)
    for folder, step in ((older, 4), (newest, 5)):
        manifest = json.loads((folder / MANIFEST).read_text())
        assert (manifest["format"], manifest["stage"], manifest["step"]) == (FORMAT_VERSION, "task", step)
        assert manifest["files"][STATE_FILE]["bytes"] == (folder / STATE_FILE).stat().st_size
        # the best dev model (step 4's evaluation) is the model itself at step 4, a file at step 5
        assert (manifest["best"], (folder / BEST_FILE).is_file()) == (
            ("current", False) if step == 4 else ("file", True)
        )
    state = newest / STATE_FILE
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # torn write on shared storage
    with caplog.at_level(logging.WARNING, logger="worker.training.checkpoints"):
        resumed = run(config, None, policy)
    assert f"ignoring checkpoint {newest}" in caplog.text and "bytes" in caplog.text
    assert resumed.resume == ResumeInfo(stage="task", step=4)
    assert_same_run(resumed, straight, evaluated)

    (policy.directory / "notes.txt").write_text("not ours")
    remove_checkpoints(policy.directory)
    assert [p.name for p in policy.directory.iterdir()] == ["notes.txt"]
    (policy.directory / "notes.txt").unlink()
    remove_checkpoints(policy.directory)
    assert not policy.directory.exists()


def test_checkpoint_of_another_config_data_or_format_is_ignored_and_training_starts_over(
    make_config: Any, tmp_path: Path, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    (data / "xnli").mkdir(parents=True)
    for name in ("train.en.jsonl", "dev.en.jsonl", "test.en.jsonl"):
        (data / "xnli" / name).write_bytes((shared_data / "xnli" / name).read_bytes())
    config = small(make_config, data={"source": "local", "dir": str(data)})
    written = CheckpointPolicy(tmp_path / "ckpt", every_minutes=0)
    with pytest.raises(RunCancelled):
        run(config, Interrupt(after=2), written)  # leaves checkpoints at steps 1 and 2

    def step_reached(config: Any, warning: str) -> int:
        """Run on a copy of those checkpoints until one step is done: the step (1: started over)."""
        policy = CheckpointPolicy(tmp_path / f"copy-{len(list(tmp_path.iterdir()))}", every_minutes=0)
        shutil.copytree(written.directory, policy.directory)
        caplog.clear()
        with (
            caplog.at_level(logging.WARNING, logger="worker.training.checkpoints"),
            pytest.raises(RunCancelled) as stopped,
        ):
            run(config, Interrupt(after=1), policy)
        assert warning in caplog.text
        return int(str(stopped.value).rsplit(" ", 1)[-1])

    assert step_reached(small(make_config, train={"seed": 4}), "another run configuration") == 1
    train_file = data / "xnli" / "train.en.jsonl"
    original = train_file.read_bytes()
    lines = original.splitlines(keepends=True)
    train_file.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))  # the data re-prepared meanwhile
    assert step_reached(config, "training data") == 1
    train_file.write_bytes(original)
    assert step_reached(config, "") == 3  # the control: same config and data resume at step 2
    manifests = [folder / MANIFEST for folder in complete_checkpoints(written.directory)]
    for manifest in manifests:
        raw = json.loads(manifest.read_text())
        manifest.write_text(json.dumps(raw | {"format": FORMAT_VERSION + 1}))
    assert step_reached(config, f"format {FORMAT_VERSION + 1}") == 1


def test_a_checkpoint_that_cannot_be_written_does_not_fail_the_run(
    make_config: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING, logger="worker.training.checkpoints"):
        result = run(small(make_config, train={"epochs": 1}), None, CheckpointPolicy(blocker / "ckpt"))
    assert result.status == "succeeded" and result.resume is None
    assert "not written" in caplog.text


def test_xlt_train_with_a_checkpoint_dir_resumes_and_removes_them_when_done(
    make_config: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = small(make_config)
    checkpoints = tmp_path / "ckpt"
    with pytest.raises(RunCancelled):
        run(config, Interrupt(after=5), CheckpointPolicy(checkpoints))  # the epoch end at step 4 is kept
    config_path = tmp_path / "run.json"
    config_path.write_text(config.model_dump_json())
    out = tmp_path / "out"
    assert main(["train", str(config_path), "--out", str(out), "--checkpoint-dir", str(checkpoints)]) == 0
    result = RunResult.model_validate_json((out / "results.json").read_text())
    assert result.resume == ResumeInfo(stage="task", step=4)
    assert "resumed from a checkpoint at task step 4" in capsys.readouterr().out
    assert not checkpoints.exists()


# ---------------------------------------------------------------------------------------------
# cancel at every stage


class StopWhen(NullReporter):
    def __init__(self, condition: Any) -> None:
        self.condition = condition
        self.scores_reported = False

    def on_scores(self, scores: Any) -> None:
        self.scores_reported = True

    def should_stop(self) -> bool:
        return bool(self.condition())


def test_cancel_during_evaluation_stops_between_predict_batches_and_a_rerun_only_evaluates(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = {"test": 0}
    evaluating = {"on": False}
    real_collate, real_score = evaluation.collate, run_mod.score_language

    def counting_collate(*args: Any, **kwargs: Any) -> Any:
        if evaluating["on"]:
            batches["test"] += 1
        return real_collate(*args, **kwargs)

    def flagged_score(*args: Any, **kwargs: Any) -> Any:
        evaluating["on"] = True
        return real_score(*args, **kwargs)

    monkeypatch.setattr(evaluation, "collate", counting_collate)
    monkeypatch.setattr(run_mod, "score_language", flagged_score)
    reporter = StopWhen(lambda: batches["test"] >= 3)
    config = small(make_config, train={"epochs": 1}, eval={"batch_size": 16})  # 32 batches a language
    policy = CheckpointPolicy(tmp_path / "ckpt")
    with pytest.raises(RunCancelled, match="evaluating"):
        run(config, reporter, policy)
    assert batches["test"] == 3 and not reporter.scores_reported
    # run again: training was over at the last checkpoint, so only the evaluation runs
    again = Interrupt(after=10**6)
    result = run(config, again, policy)
    assert result.resume == ResumeInfo(stage="task", step=4) and again.steps == 0
    assert [h.step for h in result.history] == [1, 2, 3, 4]


def test_cancel_during_the_generalized_matrix(make_config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batches = {"n": 0}
    in_matrix = {"on": False}
    real_collate, real_matrix = evaluation.collate, run_mod.generalized_matrix

    def counting_collate(*args: Any, **kwargs: Any) -> Any:
        batches["n"] += in_matrix["on"]
        return real_collate(*args, **kwargs)

    def flagged_matrix(*args: Any, **kwargs: Any) -> Any:
        in_matrix["on"] = True
        return real_matrix(*args, **kwargs)

    monkeypatch.setattr(evaluation, "collate", counting_collate)
    monkeypatch.setattr(run_mod, "generalized_matrix", flagged_matrix)
    config = make_config(train={"epochs": 1}, eval={"languages": ["en", "de"], "generalized": True})
    with pytest.raises(RunCancelled, match="generalized|evaluating"):
        run(config, StopWhen(lambda: batches["n"] >= 2))
    assert batches["n"] == 2


def test_cancel_while_loading_stops_between_files_before_the_model_loads(
    make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: list[tuple[str, str, str]] = []
    models: list[str] = []
    real_load, real_classifier = run_mod.load_split, run_mod.load_classifier

    def counting_load(data: Any, dataset: str, split: str, lang: str, *args: Any) -> Any:
        files.append((dataset, split, lang))
        return real_load(data, dataset, split, lang, *args)

    def recording_classifier(name: str, *args: Any, **kwargs: Any) -> Any:
        models.append(name)
        return real_classifier(name, *args, **kwargs)

    monkeypatch.setattr(run_mod, "load_split", counting_load)
    monkeypatch.setattr(run_mod, "load_classifier", recording_classifier)
    config = make_config(eval={"languages": ["en", "de", "sw"]})
    with pytest.raises(RunCancelled, match="cancelled while (tokenizing|loading xnli test.en)"):
        run(config, StopWhen(lambda: len(files) >= 2))
    assert files == [("xnli", "train", "en"), ("xnli", "dev", "en")] and models == []
