"""The clipped step: folding the clip into fused AdamW must give the clip-then-step update."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from worker.training.optimizer import clipped_step, linear_schedule, make_optimizer, total_norm


def two_models(seed: int) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(32), nn.Linear(32, 3))
    twin = nn.Sequential(nn.Linear(16, 32), nn.LayerNorm(32), nn.Linear(32, 3))
    twin.load_state_dict(model.state_dict())
    return model, twin


@pytest.mark.parametrize("max_norm", [1e-3, 1e3])  # clipping active / inactive
def test_folded_clip_gives_the_clip_then_step_update(max_norm: float) -> None:
    model, twin = two_models(0)
    folded = make_optimizer(model, 1e-2, 0.01)
    reference = torch.optim.AdamW(
        [
            {"params": g["params"], "weight_decay": g["weight_decay"]}
            for g in make_optimizer(twin, 1e-2, 0.01).param_groups
        ],
        lr=1e-2,
    )  # the unfused, per-tensor AdamW as the reference
    for step in range(3):
        x, y = torch.randn(8, 16), torch.randint(0, 3, (8,))
        for m, opt in ((model, folded), (twin, reference)):
            nn.functional.cross_entropy(m(x) * 10, y).backward()
            params = list(m.parameters())
            if opt is folded:
                clipped_step(opt, params, max_norm)
            else:
                nn.utils.clip_grad_norm_(params, max_norm)
                opt.step()
            opt.zero_grad()
        for a, b in zip(model.parameters(), twin.parameters(), strict=True):
            assert torch.allclose(a, b, atol=1e-6, rtol=1e-5), step
    assert not hasattr(folded, "grad_scale")  # the scale never leaks into a later step


def test_clipping_really_limits_the_update() -> None:
    model, twin = two_models(1)
    small, large = make_optimizer(model, 1e-1, 0.0), make_optimizer(twin, 1e-1, 0.0)
    x, y = torch.randn(8, 16), torch.randint(0, 3, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    for m, opt, max_norm in ((model, small, 1e-8), (twin, large, 1e8)):
        nn.functional.cross_entropy(m(x), y).backward()
        clipped_step(opt, list(m.parameters()), max_norm)
    # Adam normalises the step size, so a tiny clip shows up in the first moments, not the weights
    m_small = small.state[next(model.parameters())]["exp_avg"].abs().max()
    m_large = large.state[next(twin.parameters())]["exp_avg"].abs().max()
    assert m_small < 1e-6 * m_large
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_linear_schedule_warms_up_then_decays_to_zero() -> None:
    assert linear_schedule(0, 10, 100) == pytest.approx(1 / 11)
    assert linear_schedule(10, 10, 100) == 1.0
    assert linear_schedule(55, 10, 100) == pytest.approx(0.5)
    assert linear_schedule(100, 10, 100) == 0.0


def test_total_norm_matches_clip_grad_norm_with_and_without_get_total_norm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grads = [torch.randn(5, 7), torch.randn(3), torch.randn(2, 2, 2)]
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    expected = nn.utils.clip_grad_norm_(params, 1e9)
    assert torch.allclose(total_norm(grads), expected)
    monkeypatch.delattr(nn.utils, "get_total_norm")  # torch < 2.6
    assert torch.allclose(total_norm(grads), expected)
