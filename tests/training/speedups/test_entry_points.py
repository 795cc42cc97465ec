"""The one door: `training()` and `inference()` install the speed-ups and undo them (also on cancel),
one switch (`train.speedups`, `XLT_SPEEDUPS`) turns every one of them off, a run without them is a
valid run, and without dropout it gives the same fp32 scores as a run with them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from worker.training import run as run_mod
from worker.training import speedups
from worker.training.model import load_classifier
from worker.training.precision import Runtime
from worker.training.reporter import NullReporter, RunCancelled
from worker.training.results import HistoryPoint, RunResult
from worker.training.run import run
from worker.training.speedups.cpu_dropout import ATTENTION_NAME, CpuDropout

CPU_FP32 = Runtime(torch.device("cpu"), "fp32")


def installed(model: nn.Module) -> dict[str, Any]:
    """Every trace a speed-up can leave on a model; a stock model gives `STOCK`."""
    embedding = model.get_input_embeddings()  # type: ignore[operator]
    return {
        "cpu_dropout": any(isinstance(m, CpuDropout) for m in model.modules()),
        "cpu_attention": model.config._attn_implementation == ATTENTION_NAME,  # type: ignore[union-attr]
        "forward_pre_hooks": sum(len(m._forward_pre_hooks) for m in model.modules()),
        "replaced_forwards": sum("forward" in vars(m) for m in model.modules()),
        "sparse_embedding": embedding.sparse,
        "held_gradient": embedding.weight.grad is not None,
    }


STOCK = {
    "cpu_dropout": False,
    "cpu_attention": False,
    "forward_pre_hooks": 0,
    "replaced_forwards": 0,
    "sparse_embedding": False,
    "held_gradient": False,
}


@pytest.mark.parametrize("value", ["0", "false", "off", "OFF", " no "])
def test_the_environment_setting_turns_them_off(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(speedups.SWITCH, value)
    assert not speedups.enabled(CPU_FP32)


def test_both_the_config_and_the_environment_must_allow_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(speedups.SWITCH, raising=False)
    assert speedups.enabled(CPU_FP32)
    monkeypatch.setenv(speedups.SWITCH, "1")
    assert speedups.enabled(CPU_FP32)
    assert not speedups.enabled(Runtime(torch.device("cpu"), "fp32", speedups=False))


def test_training_installs_every_cpu_speedup_and_undoes_them(tiny_model: Path) -> None:
    model = load_classifier(str(tiny_model), 3, seed=0).train()
    assert installed(model) == STOCK
    with speedups.training(model, CPU_FP32):
        inside = installed(model)
        with speedups.inference(model, CPU_FP32):  # the dev evaluation inside a stage
            assert installed(model) == inside, "inference leaves the outer block's set-up alone"
    assert inside["cpu_dropout"] and inside["cpu_attention"] and inside["sparse_embedding"]
    assert inside["held_gradient"]
    # hooks: one-cast per layer, the embedding's row recorder; forwards: at least the last layer
    assert inside["forward_pre_hooks"] == model.config.num_hidden_layers + 1
    assert inside["replaced_forwards"] >= 1
    assert installed(model) == STOCK


@pytest.mark.parametrize("switch", ["config", "environment"])
def test_with_the_switch_off_nothing_is_installed(
    switch: str, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = CPU_FP32
    if switch == "config":
        runtime = Runtime(torch.device("cpu"), "fp32", speedups=False)
    else:
        monkeypatch.setenv(speedups.SWITCH, "0")
    model = load_classifier(str(tiny_model), 3, seed=0).train()
    with speedups.training(model, runtime):
        assert installed(model) == STOCK
        assert all(type(m) is nn.Dropout for m in model.modules() if isinstance(m, nn.Dropout))
    with speedups.inference(model, runtime):
        assert installed(model) == STOCK


class StopAfter(NullReporter):
    def __init__(self, steps: int) -> None:
        self.steps = 0
        self.limit = steps

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        self.steps += 1

    def should_stop(self) -> bool:
        return self.steps >= self.limit


def test_a_stage_leaves_the_model_as_it_came_in_even_when_cancelled(
    make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Normally, after an STS-B stage, and by cancel (bf16): no trace of any speed-up is left."""
    models: list[Any] = []
    real_train_stage = run_mod.train_stage

    def recording_train_stage(model: Any, *args: Any, **kwargs: Any) -> Any:
        models.append(model)
        return real_train_stage(model, *args, **kwargs)

    monkeypatch.setattr(run_mod, "train_stage", recording_train_stage)
    run(make_config(intermediate={"epochs": 1, "max_examples": 32}, train={"epochs": 1}))
    with pytest.raises(RunCancelled):
        run(make_config(train={"precision": "bf16"}), StopAfter(2))
    assert len(models) == 3
    for model in models:
        assert installed(model) == STOCK


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a speed-up was installed with the switch off")


def _task_losses(result: RunResult) -> list[float]:
    return [h.loss for h in result.history if h.stage == "task"]


@pytest.mark.parametrize("switch", ["config", "environment"])
def test_a_run_with_the_switch_off_installs_nothing_and_still_learns(
    switch: str, make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "keep_freed_memory_in_heap",
        "cpu_dropout_installed",
        "attention_inputs_cast_once",
        "embedding_grad_kept",
        "linears_on_onednn",
        "cls_only_last_layer",
    ):
        monkeypatch.setattr(speedups, name, _refuse)
    if switch == "environment":
        monkeypatch.setenv(speedups.SWITCH, "off")
        config = make_config()
    else:
        config = make_config(train={"speedups": False})
    result = run(config)
    losses = _task_losses(result)
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3, losses
    assert [(s.language, s.n) for s in result.scores] == [("en", 498), ("de", 498)]
    assert result.environment["speedups"] is False
    assert "cpu_fp32_linear" not in result.environment
    assert result.config["train"]["speedups"] is (switch != "config")


@pytest.fixture(scope="module")
def tiny_model_without_dropout(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with dropout at 0: the cheap dropout draws other masks than stock dropout
    under the same seed, so only without dropout do the two runs compute the same thing."""
    out = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    shutil.copytree(tiny_model, out, dirs_exist_ok=True)
    config = json.loads((out / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (out / "config.json").write_text(json.dumps(config))
    return out


def test_switch_on_and_off_give_the_same_fp32_scores_without_dropout(
    make_config: Any, tiny_model_without_dropout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With dropout at 0 the speed-ups change only the summation order of fp32 sums (oneDNN or
    MKL GEMMs, eager attention or SDPA, one position in the last layer): over 60 steps that learn,
    the losses agree to 1e-4 relative (about 1e-6 seen) and the accuracies to one test pair in 498
    (identical seen). With dropout the two runs differ by design: other masks, same distribution."""
    config = make_config(model=str(tiny_model_without_dropout), train={"precision": "fp32"})
    on = run(config)
    monkeypatch.setenv(speedups.SWITCH, "0")
    off = run(config)
    assert on.environment["speedups"] and not off.environment["speedups"]
    losses = _task_losses(off)
    assert sum(losses[-3:]) < 0.75 * sum(losses[:3]), "a run that learns, not two at chance"
    assert _task_losses(on) == pytest.approx(losses, rel=1e-4)
    assert on.selected_checkpoint is not None and off.selected_checkpoint is not None
    assert on.selected_checkpoint.step == off.selected_checkpoint.step
    for a, b in zip(on.scores, off.scores, strict=True):
        assert (a.language, a.n) == (b.language, b.n)
        assert a.value == pytest.approx(b.value, abs=1.01 / 498)
