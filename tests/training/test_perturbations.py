"""Perturbation functions on tiny tensors: noise scale and mask, PGD ball and loss, synonym rates."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Literal

import pytest
import torch

from worker.training.perturbations import (
    Norm,
    embedding_neighbors,
    embedding_noise,
    pgd_delta,
    project,
    replace_tokens,
    synonym_replace,
)


def _mask() -> torch.Tensor:
    return torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])  # (batch=2, seq=5)


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_embedding_noise_is_zero_on_padding_and_has_scale_sigma(kind: Literal["gaussian", "uniform"]) -> None:
    embeds = torch.zeros(2, 5, 4000)
    noise = embedding_noise(embeds, _mask(), kind, 0.3, torch.Generator().manual_seed(0))
    assert noise.shape == embeds.shape
    assert torch.all(noise[0, 3:] == 0)
    real = noise[_mask().bool()]  # (real tokens, hidden)
    if kind == "gaussian":
        assert real.std().item() == pytest.approx(0.3, rel=0.02)
        assert real.mean().item() == pytest.approx(0.0, abs=0.01)
    else:
        assert real.abs().max().item() <= 0.3
        assert real.abs().max().item() > 0.29
        assert real.std().item() == pytest.approx(0.3 / 3**0.5, rel=0.02)  # U(-s, s) has std s/√3


def test_embedding_noise_is_deterministic_under_a_seed() -> None:
    embeds = torch.zeros(2, 5, 8)
    a = embedding_noise(embeds, _mask(), "gaussian", 0.1, torch.Generator().manual_seed(7))
    b = embedding_noise(embeds, _mask(), "gaussian", 0.1, torch.Generator().manual_seed(7))
    c = embedding_noise(embeds, _mask(), "gaussian", 0.1, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def _toy_loss() -> tuple[torch.Tensor, torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    embeds = torch.randn(2, 5, 6)
    head = torch.nn.Linear(6, 3)
    labels = torch.tensor([0, 2])
    return embeds, head, labels


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_delta_stays_in_epsilon_ball_is_zero_on_padding_and_raises_loss(norm: Norm) -> None:
    embeds, head, labels = _toy_loss()
    mask = _mask()

    def loss_fn(x: torch.Tensor) -> torch.Tensor:
        pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)  # (batch, hidden)
        return torch.nn.functional.cross_entropy(head(pooled), labels)

    eps = 0.5
    delta = pgd_delta(
        loss_fn,
        embeds,
        mask,
        steps=5,
        step_size=0.2,
        epsilon=eps,
        norm=norm,
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.all(delta[0, 3:] == 0)
    if norm == "l2":
        assert torch.all(delta.flatten(1).norm(dim=1) <= eps + 1e-5)
    else:
        assert delta.abs().max().item() <= eps + 1e-6
    with torch.no_grad():
        assert loss_fn(embeds + delta).item() > loss_fn(embeds).item() + 0.05
    assert all(p.grad is None for p in head.parameters())  # PGD touches no parameter gradients


def test_project_l2_scales_only_examples_outside_the_ball() -> None:
    delta = torch.zeros(2, 1, 2)
    delta[0, 0] = torch.tensor([3.0, 4.0])  # norm 5
    delta[1, 0] = torch.tensor([0.3, 0.4])  # norm 0.5
    out = project(delta, 1.0, "l2")
    assert out[0].norm().item() == pytest.approx(1.0)
    assert torch.allclose(out[1], delta[1])


TABLE = {"good": ["fine", "nice", "great"], "movie": ["film"], "empty": []}


def test_synonym_replacement_rate_matches_replace_prob() -> None:
    rng = random.Random(0)
    sentence = " ".join(["good"] * 4000 + ["plain"] * 100 + ["empty"] * 100)
    out, changed = synonym_replace(sentence, TABLE, replace_prob=0.5, rng=rng)
    words = out.split(" ")
    assert words[4000:] == ["plain"] * 100 + ["empty"] * 100  # words without neighbours never change
    # a resampled word changes with probability 3/4 (uniform over [good, fine, nice, great])
    assert changed / 4000 == pytest.approx(0.5 * 0.75, abs=0.03)
    assert changed == sum(w != "good" for w in words[:4000])
    assert set(words[:4000]) <= {"good", "fine", "nice", "great"}


def test_synonym_replacement_with_prob_one_follows_perturb_py_uniform_choice() -> None:
    out, changed = synonym_replace(" ".join(["movie"] * 2000), TABLE, 1.0, random.Random(1))
    assert changed / 2000 == pytest.approx(0.5, abs=0.04)  # uniform over [movie, film]


def test_synonym_replacement_is_deterministic_under_a_seed() -> None:
    sentence = "a good movie is a good movie"
    runs = [synonym_replace(sentence, TABLE, 0.7, random.Random(3)) for _ in range(2)]
    assert runs[0] == runs[1]
    others = {synonym_replace(sentence, TABLE, 0.7, random.Random(s))[0] for s in range(20)}
    assert len(others) > 1


def test_synonym_replacement_on_real_counterfitted_table(shared_data: Path) -> None:
    path = shared_data / "synonyms" / "counterfitted_neighbors.json"
    table = json.loads(path.read_text())
    out, changed = synonym_replace("The movie was good", table, 1.0, random.Random(0))
    assert len(out.split(" ")) == 4
    assert changed >= 1


def test_replace_tokens_and_embedding_neighbors_pick_nearest_by_cosine() -> None:
    weight = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [-1.0, 0.0]])
    table = embedding_neighbors(weight, [0, 2, 4], k=1, exclude=[1])
    # token 1 is excluded (a special token): it neither gets nor serves as a neighbour
    assert table == {0: [3], 2: [3], 4: [2]}
    ids, changed = replace_tokens([0, 1, 2], {2: [3]}, 1.0, random.Random(0))
    assert ids[:2] == [0, 1] and ids[2] in (2, 3) and changed == (ids[2] == 3)
