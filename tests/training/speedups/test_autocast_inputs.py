"""The one-cast hook on self-attention inputs: bf16 projections under CPU autocast, the same
outputs and gradients as without it (to bf16 rounding), nothing at all in fp32."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from worker.training.model import load_classifier
from worker.training.speedups.autocast_inputs import attention_inputs_cast_once


def inputs_seen_by_query(model: nn.Module) -> list[torch.dtype]:
    seen: list[torch.dtype] = []
    for module in model.modules():
        query = getattr(module, "query", None)
        if isinstance(query, nn.Linear):
            query.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    return seen


def run(model: nn.Module, autocast: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    ids = torch.tensor([[101, 2023, 2003, 102, 0, 0], [101, 2178, 6251, 2182, 1012, 102]])
    mask = (ids != 0).long()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
    logits.sum().backward()
    return logits.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_one_cast_gives_the_same_outputs_and_gradients(tiny_model: Path) -> None:
    plain = load_classifier(str(tiny_model), 3, seed=0).eval()  # eval: no dropout, same forward
    hooked = load_classifier(str(tiny_model), 3, seed=0).eval()
    seen = inputs_seen_by_query(hooked)
    with attention_inputs_cast_once(hooked) as hooks:
        assert hooks == hooked.config.num_hidden_layers

        logits, grads = run(hooked, autocast=True)
        assert seen and set(seen) == {torch.bfloat16}, "the projections get the bf16 tensor"
        plain_logits, plain_grads = run(plain, autocast=True)
        torch.testing.assert_close(logits, plain_logits, rtol=0, atol=2e-2)
        for grad, plain_grad in zip(grads, plain_grads, strict=True):
            torch.testing.assert_close(grad, plain_grad, rtol=5e-2, atol=5e-3)

        seen.clear()
        logits, grads = run(hooked, autocast=False)  # fp32: untouched, exactly the plain model
        assert set(seen) == {torch.float32}
        plain_logits, plain_grads = run(plain, autocast=False)
        assert torch.equal(logits, plain_logits)
        assert all(torch.equal(a, b) for a, b in zip(grads, plain_grads, strict=True))

    assert not any(m._forward_pre_hooks for m in hooked.modules() if hasattr(m, "query"))
    seen.clear()
    run(hooked, autocast=True)
    assert torch.float32 in set(seen), "removed: autocast casts inside each projection again"
