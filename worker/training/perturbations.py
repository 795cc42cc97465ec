"""Pure perturbation functions for robust training (Huang et al., EMNLP 2021).

Why pure: every random draw goes through an explicit `random.Random` or `torch.Generator`, so the
same seed gives the same perturbation, and each function can be unit-tested on tiny tensors.

- `synonym_replace` / `replace_tokens`: randomized smoothing by data augmentation (rs_da), with the
  semantics of Robust-XLT's perturb.py: every word that has neighbours is resampled uniformly from
  [word] + neighbours (here with probability `replace_prob`; 1.0 is perturb.py).
- `embedding_neighbors`: neighbour table from a model's own input embeddings (top-k cosine).
- `embedding_noise`: randomized smoothing by random perturbation (rs_rp) of input embeddings.
- `pgd_delta`: projected gradient ascent in embedding space (adv).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

import torch

# ---------------------------------------------------------------------------------------------
# rs_da: synonym substitution


def synonym_replace(
    sentence: str, table: Mapping[str, Sequence[str]], replace_prob: float, rng: random.Random
) -> tuple[str, int]:
    """Resample words that have neighbours; returns (new sentence, number of words that changed).

    Words are split on single spaces as perturb.py does; a word is looked up as written and, failing
    that, lower-cased (the counter-fitted table is lower case)."""
    words = sentence.split(" ")
    changed = 0
    out = []
    for word in words:
        neighbours = table.get(word) or table.get(word.lower())
        if neighbours and rng.random() < replace_prob:
            choice = rng.choice([word, *neighbours])
            changed += choice != word
            out.append(choice)
        else:
            out.append(word)
    return " ".join(out), changed


def replace_tokens(
    ids: Sequence[int], neighbours: Mapping[int, Sequence[int]], replace_prob: float, rng: random.Random
) -> tuple[list[int], int]:
    """Token-level version of `synonym_replace` for embedding neighbours (special tokens have none)."""
    out = []
    changed = 0
    for token in ids:
        options = neighbours.get(token)
        if options and rng.random() < replace_prob:
            choice = rng.choice([token, *options])
            changed += choice != token
            out.append(choice)
        else:
            out.append(token)
    return out, changed


@torch.no_grad()
def embedding_neighbors(
    weight: torch.Tensor, token_ids: Iterable[int], k: int, exclude: Iterable[int] = (), chunk: int = 512
) -> dict[int, list[int]]:
    """For each token id, its k nearest other tokens by cosine similarity of the rows of `weight`.

    weight: (vocab, hidden). Tokens in `exclude` (special tokens) neither get nor serve as neighbours."""
    normed = torch.nn.functional.normalize(weight.float(), dim=-1)  # (vocab, hidden)
    banned = torch.tensor(sorted(set(exclude)), dtype=torch.long, device=weight.device)
    wanted = sorted(set(token_ids) - set(banned.tolist()))
    table: dict[int, list[int]] = {}
    for start in range(0, len(wanted), chunk):
        ids = torch.tensor(wanted[start : start + chunk], dtype=torch.long, device=weight.device)
        sims = normed[ids] @ normed.T  # (chunk, vocab)
        sims[torch.arange(len(ids)), ids] = float("-inf")  # not its own neighbour
        if banned.numel():
            sims[:, banned] = float("-inf")
        top = sims.topk(k, dim=-1).indices
        for token, row in zip(ids.tolist(), top.tolist(), strict=True):
            table[token] = row
    return table


# ---------------------------------------------------------------------------------------------
# rs_rp: random noise on input embeddings


def embedding_noise(
    embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    kind: Literal["gaussian", "uniform"],
    sigma: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Noise shaped like `embeds` (batch, seq, hidden): N(0, sigma²) or U(-sigma, sigma) on real
    tokens, exactly zero where attention_mask == 0."""
    if kind == "gaussian":
        noise = torch.randn(embeds.shape, generator=generator, device=embeds.device, dtype=embeds.dtype)
        noise = noise * sigma
    else:
        noise = torch.rand(embeds.shape, generator=generator, device=embeds.device, dtype=embeds.dtype)
        noise = (noise * 2 - 1) * sigma
    return noise * attention_mask.unsqueeze(-1).to(embeds.dtype)


# ---------------------------------------------------------------------------------------------
# adv: PGD in embedding space

Norm = Literal["l2", "linf"]


def _per_example_l2(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))  # (batch, 1, 1)


def project(delta: torch.Tensor, epsilon: float, norm: Norm) -> torch.Tensor:
    """Project each example's delta into the epsilon ball of the given norm."""
    if norm == "linf":
        return delta.clamp(-epsilon, epsilon)
    factor = (epsilon / _per_example_l2(delta)).clamp(max=1.0)
    return delta * factor


def random_init(
    embeds: torch.Tensor, mask: torch.Tensor, epsilon: float, norm: Norm, generator: torch.Generator
) -> torch.Tensor:
    """A random start inside the epsilon ball, zero on padding."""
    m = mask.unsqueeze(-1).to(embeds.dtype)
    if norm == "linf":
        delta = torch.rand(embeds.shape, generator=generator, device=embeds.device, dtype=embeds.dtype)
        return (delta * 2 - 1) * epsilon * m
    direction = torch.randn(embeds.shape, generator=generator, device=embeds.device, dtype=embeds.dtype) * m
    radius = torch.rand((embeds.shape[0],), generator=generator, device=embeds.device, dtype=embeds.dtype)
    direction = direction / _per_example_l2(direction)
    return direction * (radius * epsilon).view(-1, *([1] * (embeds.dim() - 1)))


def pgd_delta(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    steps: int,
    step_size: float,
    epsilon: float,
    norm: Norm,
    generator: torch.Generator,
) -> torch.Tensor:
    """A perturbation that (approximately) maximizes loss_fn(embeds + delta) with ||delta|| ≤ epsilon
    per example, zero on padding. `loss_fn` maps perturbed embeddings to a scalar loss; gradients
    flow only into delta (the model's parameter gradients are not touched)."""
    base = embeds.detach()
    mask = attention_mask.unsqueeze(-1).to(base.dtype)  # (batch, seq, 1)
    delta = random_init(base, attention_mask, epsilon, norm, generator)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = loss_fn(base + delta)
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            step = grad.sign() if norm == "linf" else grad / _per_example_l2(grad)
            delta = project((delta + step_size * step) * mask, epsilon, norm)
    return delta.detach()
