"""Adversarial training's objective (robust.adv_objective) and the Robust-XLT defaults of rs_da."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from worker.training.batching import collate, encode_pairs
from worker.training.config import (
    METHOD_PARAM_SOURCES,
    METHOD_PARAMS,
    RobustConfig,
    RunConfig,
)
from worker.training.data import PairExample
from worker.training.model import load_classifier, load_tokenizer
from worker.training.perturbations import pgd_delta
from worker.training.trainer import batch_loss, task_loss

PAIRS = [
    PairExample("0", "A man is playing a guitar.", "Someone plays music.", 0.0),
    PairExample("1", "The cat sleeps on the sofa.", "A dog runs outside.", 2.0),
    PairExample("2", "Two children are reading.", "Kids read books together.", 1.0),
]


def _batch(tiny_model: Path) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    model = load_classifier(str(tiny_model), 3, seed=0).eval()  # no dropout: losses comparable exactly
    data = encode_pairs(load_tokenizer(str(tiny_model)), PAIRS, 32)
    return model, collate(data, [0, 1, 2], 0, False, torch.device("cpu"), 1)


def _expected(
    model: torch.nn.Module, batch: dict[str, torch.Tensor], robust: RobustConfig
) -> tuple[float, float]:
    """(clean loss, loss at the PGD perturbation drawn from generator seed 0)."""
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "input_ids")}
    embeds = model.get_input_embeddings()(batch["input_ids"])  # type: ignore[operator]

    def loss_at(x: torch.Tensor) -> torch.Tensor:
        return task_loss(model(inputs_embeds=x, **inputs).logits, batch["labels"], False)

    generator = torch.Generator().manual_seed(0)
    delta = pgd_delta(
        loss_at,
        embeds,
        inputs["attention_mask"],
        robust.steps,
        robust.step_size,
        robust.epsilon,
        robust.norm,
        generator,
    )
    return loss_at(embeds).item(), loss_at(embeds + delta).item()


def test_adv_objective_is_the_perturbed_loss_or_the_mean_with_the_clean_one(tiny_model: Path) -> None:
    model, batch = _batch(tiny_model)
    robust = RobustConfig(method="adv", epsilon=1.0, step_size=0.5, steps=3)
    clean, adversarial = _expected(model, batch, robust)
    assert adversarial > clean  # PGD found a worse point inside the ball
    adv = batch_loss(model, batch, False, robust, torch.Generator().manual_seed(0)).item()
    assert adv == pytest.approx(adversarial, rel=1e-5)
    mixed_config = robust.model_copy(update={"adv_objective": "clean+adv"})
    mixed = batch_loss(model, batch, False, mixed_config, torch.Generator().manual_seed(0)).item()
    assert mixed == pytest.approx((clean + adversarial) / 2, rel=1e-5)


def test_adv_objective_defaults_to_the_papers_min_max_and_rejects_others() -> None:
    assert RobustConfig().adv_objective == "adv"
    assert "adv_objective" in METHOD_PARAMS["adv"]
    with pytest.raises(ValidationError):
        RobustConfig.model_validate({"adv_objective": "clean"})


@pytest.mark.parametrize(
    ("task", "method", "epochs", "expected"),
    [
        ("xnli", "rs_da", None, 1.0),  # Robust-XLT scripts/train_xnli.sh:27
        ("pawsx", "rs_da", None, 3.0),  # Robust-XLT scripts/train_pawsx.sh:27
        ("xnli", "none", None, 5.0),
        ("pawsx", "rs_rp", None, 5.0),
        ("xnli", "rs_da", 2.0, 2.0),
    ],
)
def test_rs_da_epochs_default_to_the_robust_xlt_scripts(
    task: str, method: str, epochs: float | None, expected: float
) -> None:
    config = RunConfig.model_validate(
        {"task": task, "model": "m", "robust": {"method": method}, "train": {"epochs": epochs}}
    )
    assert config.epochs == expected
    if method == "rs_da":
        assert config.rs_da_copies == {"xnli": 3, "pawsx": 10}[task]


def test_every_default_source_names_a_parameter_of_its_method() -> None:
    for method, sources in METHOD_PARAM_SOURCES.items():
        for name, source in sources.items():
            assert name in METHOD_PARAMS[method] or name == "train.epochs", (method, name)
            assert source
    assert "scripts/train_xnli.sh:27" in METHOD_PARAM_SOURCES["rs_da"]["train.epochs"]
