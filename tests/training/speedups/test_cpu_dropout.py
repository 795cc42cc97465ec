"""The cheap CPU dropout: same statistics and gradients as stock dropout, same evaluation outputs as
the stock model, the stock training math at dropout 0, reproducible under a seed, undone afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from worker.training.speedups.cpu_dropout import (
    ATTENTION_NAME,
    CpuDropout,
    cpu_dropout,
    cpu_dropout_installed,
    keep_mask,
)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_keep_mask_drops_at_rate_p_and_rescales(p: float) -> None:
    mask = keep_mask(torch.Size([1000, 1000]), p, torch.float32, torch.Generator().manual_seed(0))
    assert mask.unique().tolist() == pytest.approx([0.0, 1 / (1 - p)])
    dropped = (mask == 0).float().mean().item()
    assert dropped == pytest.approx(p, abs=0.002)  # 1e6 draws: std of the rate is < 0.0005
    assert mask.mean().item() == pytest.approx(1.0, abs=0.005)  # expectation preserved


def test_keep_mask_is_deterministic_under_a_seed_and_differs_across_seeds() -> None:
    def draw(seed: int) -> torch.Tensor:
        return keep_mask(torch.Size([64, 48]), 0.1, torch.bfloat16, torch.Generator().manual_seed(seed))

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))
    assert draw(3).dtype == torch.bfloat16


def test_cpu_dropout_gradient_is_the_mask() -> None:
    torch.manual_seed(0)
    x = torch.randn(50, 40, requires_grad=True)
    out = cpu_dropout(x, 0.3, training=True)
    out.backward(torch.ones_like(out))
    assert x.grad is not None
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.7)
    assert torch.allclose(x.grad, kept.float() / 0.7)


def test_cpu_dropout_is_the_identity_in_eval_and_at_p_zero() -> None:
    x = torch.randn(8, 8)
    assert cpu_dropout(x, 0.5, training=False) is x
    assert cpu_dropout(x, 0.0, training=True) is x
    module = CpuDropout(0.5).eval()
    assert module(x) is x


def test_installed_model_matches_the_stock_model_in_eval_and_trains_reproducibly(tiny_model: Path) -> None:
    stock = AutoModelForSequenceClassification.from_pretrained(tiny_model).eval()
    fast = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    stock_attention = fast.config._attn_implementation
    batch = {
        "input_ids": torch.tensor([[101, 2023, 2003, 102, 0], [101, 2178, 6251, 2182, 102]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]),
    }
    with cpu_dropout_installed(fast) as routed:
        assert routed and fast.config._attn_implementation == ATTENTION_NAME
        assert not any(type(m) is nn.Dropout for m in fast.modules())
        with torch.inference_mode():
            assert torch.allclose(fast.eval()(**batch).logits, stock(**batch).logits, atol=1e-5)

        fast.train()
        torch.manual_seed(7)
        first = fast(**batch).logits
        torch.manual_seed(7)
        again = fast(**batch).logits
        torch.manual_seed(8)
        other = fast(**batch).logits
        assert torch.equal(first, again)  # masks come from the seeded default generator
        assert not torch.allclose(first, other)  # dropout is really active in training
        first.sum().backward()
        assert all(p.grad is not None for p in fast.parameters() if p.requires_grad)

    assert fast.config._attn_implementation == stock_attention
    assert not any(isinstance(m, CpuDropout) for m in fast.modules())
    assert all(m.training for m in fast.modules() if type(m) is nn.Dropout), "train mode kept"


def test_nested_use_leaves_the_modules_to_the_outer_block(tiny_model: Path) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    with cpu_dropout_installed(model), cpu_dropout_installed(model) as inner:
        assert not inner
    assert model.config._attn_implementation != ATTENTION_NAME
    assert not any(isinstance(m, CpuDropout) for m in model.modules())


def test_training_attention_path_matches_stock_gradients_without_dropout(tiny_model: Path) -> None:
    """With every dropout at 0 the training path (eager attention, not SDPA) must give the stock
    model's logits and gradients: only the masks may differ, never the math."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_model, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    stock = AutoModelForSequenceClassification.from_pretrained(tiny_model, config=config).train()
    fast = AutoModelForSequenceClassification.from_pretrained(tiny_model, config=config).train()
    batch = {
        "input_ids": torch.tensor([[101, 2023, 2003, 102, 0, 0], [101, 2178, 6251, 2182, 1012, 102]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]),
    }
    with cpu_dropout_installed(fast) as routed:
        assert routed
        stock_logits, fast_logits = stock(**batch).logits, fast(**batch).logits
        assert torch.allclose(fast_logits, stock_logits, atol=1e-5)
        stock_logits.sum().backward()
        fast_logits.sum().backward()
    stock_grads = dict(stock.named_parameters())
    for name, param in fast.named_parameters():
        other = stock_grads[name].grad
        assert param.grad is not None and other is not None
        assert torch.allclose(param.grad, other, atol=1e-5), name


def test_training_attention_path_under_bf16_autocast_keeps_padding_masked(tiny_model: Path) -> None:
    """Under bf16 autocast the scores stay bf16 and the additive mask is cast to them (fp32's most
    negative value would round to -inf): padded keys still get no weight, outputs and gradients
    stay finite and close to the stock model under the same autocast."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_model, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    stock = AutoModelForSequenceClassification.from_pretrained(tiny_model, config=config).train()
    fast = AutoModelForSequenceClassification.from_pretrained(tiny_model, config=config).train()
    ids = torch.tensor([[101, 2023, 2003, 102, 0, 0], [101, 2178, 6251, 2182, 1012, 102]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    with cpu_dropout_installed(fast), torch.autocast("cpu", dtype=torch.bfloat16):
        stock_logits = stock(input_ids=ids, attention_mask=mask).logits.float()
        fast_out = fast(input_ids=ids, attention_mask=mask, output_attentions=True)
    probs = fast_out.attentions[0]
    assert probs.dtype == torch.bfloat16
    assert probs[0, :, :, 4:].abs().max() == 0, "padded keys get no attention"
    fast_logits = fast_out.logits.float()
    assert torch.isfinite(fast_logits).all()
    assert torch.allclose(fast_logits, stock_logits, atol=3e-2)
    fast_logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in fast.parameters() if p.grad is not None)
