"""fp32 linear layers on oneDNN: the same logits and gradients as MKL's up to fp32 summation order,
against float64 too; the stock path under autocast; undone afterwards; the speed probe leaves the
global seed alone and picks the library GEMM by GEMM."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from worker.training.speedups import onednn_linear as mod
from worker.training.speedups.onednn_linear import (
    ALL_ONEDNN,
    LinearKernels,
    linears_on_onednn,
    onednn_linear,
)


def tiny_bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        vocab_size=120,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config.num_labels = 3
    return BertForSequenceClassification(config)


def logits_and_grads(model: nn.Module) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    ids = torch.randint(5, 120, (4, 11), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[:2, 7:] = 0
    logits = model(input_ids=ids, attention_mask=mask).logits
    nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 1])).backward()
    return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_a_model_on_onednn_has_the_stock_logits_and_gradients() -> None:
    model = tiny_bert()
    stock_logits, stock_grads = logits_and_grads(model)
    with linears_on_onednn(model, ALL_ONEDNN) as used:
        logits, grads = logits_and_grads(model)
    assert used
    torch.testing.assert_close(logits, stock_logits, rtol=1e-5, atol=1e-6)
    assert grads.keys() == stock_grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, stock_grads[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("bias", [True, False])
def test_onednn_linear_matches_float64_in_value_and_every_gradient(bias: bool) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 48, generator=g, requires_grad=True)
    weight = torch.randn(20, 48, generator=g, requires_grad=True)
    b = torch.randn(20, generator=g, requires_grad=True) if bias else None
    upstream = torch.randn(3, 5, 20, generator=g)
    out = onednn_linear(x, weight, b)
    out.backward(upstream)
    leaves = [t for t in (x, weight, b) if t is not None]
    exact = [t.detach().double().requires_grad_() for t in leaves]
    reference = nn.functional.linear(exact[0], exact[1], exact[2] if bias else None)
    reference.backward(upstream.double())
    torch.testing.assert_close(out.double(), reference.detach(), rtol=1e-5, atol=1e-4)
    for got, want in zip(leaves, exact, strict=True):
        assert got.grad is not None and want.grad is not None
        torch.testing.assert_close(got.grad.double(), want.grad, rtol=1e-5, atol=1e-4)


def test_an_input_that_needs_no_gradient_gets_none() -> None:
    weight = torch.randn(6, 4, requires_grad=True)
    x = torch.randn(2, 4)
    onednn_linear(x, weight, None).sum().backward()
    assert x.grad is None and weight.grad is not None
    torch.testing.assert_close(weight.grad, x.sum(0).expand(6, 4))


def test_under_bf16_autocast_the_stock_path_runs() -> None:
    x, weight = torch.randn(2, 8), torch.randn(4, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = onednn_linear(x, weight, None)
        stock = nn.functional.linear(x, weight)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, stock)


def test_the_stock_forward_is_back_after_the_block_also_after_an_exception() -> None:
    model = tiny_bert()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    with pytest.raises(RuntimeError, match="cancelled"), linears_on_onednn(model, ALL_ONEDNN):
        assert all("forward" in vars(m) for m in linears)
        raise RuntimeError("cancelled")
    assert all("forward" not in vars(m) for m in linears)
    assert set(model.state_dict()) == set(tiny_bert().state_dict())


def test_disabled_or_too_small_a_speedup_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_bert()
    below = mod.MIN_SPEEDUP - 0.01
    monkeypatch.setattr(
        mod, "onednn_fp32_speedups", lambda: {"forward": below, "input_grad": below, "weight_grad": below}
    )
    with linears_on_onednn(model) as used:
        assert not used
        assert all("forward" not in vars(m) for m in model.modules())
    with linears_on_onednn(model, LinearKernels("mkl", "mkl", "mkl")) as used:
        assert not used


def test_the_speed_probe_leaves_the_global_seed_alone() -> None:
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    mod.onednn_fp32_speedups.cache_clear()
    assert min(mod.onednn_fp32_speedups().values()) > 0
    assert torch.equal(torch.rand(3), expected)


def test_a_slow_onednn_weight_gradient_stays_on_mkl(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each GEMM is timed on its own: a slow oneDNN weight gradient stays on MKL (Zen 4)."""
    fast = mod._onednn

    def slow_weight_gradient(
        x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        if not x.is_contiguous():  # grad.t(): only the weight gradient's GEMM reads a transposed input
            time.sleep(0.05)
        return fast(x, weight, bias)

    monkeypatch.setattr(mod, "_onednn", slow_weight_gradient)
    mod.onednn_fp32_speedups.cache_clear()
    try:
        assert mod.onednn_fp32_speedups()["weight_grad"] < 1.0
        assert mod.cpu_fp32_linear_kernels().weight_grad == "mkl"
    finally:
        mod.onednn_fp32_speedups.cache_clear()


KERNEL_MIXES = [
    LinearKernels(),
    LinearKernels("onednn", "onednn", "mkl"),
    LinearKernels("mkl", "mkl", "onednn"),
    LinearKernels("mkl", "onednn", "mkl"),
]


@pytest.mark.parametrize("kernels", KERNEL_MIXES, ids=str)
def test_every_mix_of_libraries_matches_float64(kernels: LinearKernels) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 7, 40, generator=g, requires_grad=True)
    weight = torch.randn(24, 40, generator=g, requires_grad=True)
    bias = torch.randn(24, generator=g, requires_grad=True)
    upstream = torch.randn(2, 7, 24, generator=g)
    onednn_linear(x, weight, bias, kernels).backward(upstream)
    exact = [t.detach().double().requires_grad_() for t in (x, weight, bias)]
    nn.functional.linear(*exact).backward(upstream.double())
    for got, want in zip((x, weight, bias), exact, strict=True):
        assert got.grad is not None and want.grad is not None
        torch.testing.assert_close(got.grad.double(), want.grad, rtol=1e-5, atol=1e-4)


def test_kernels_are_recorded_by_name() -> None:
    assert str(LinearKernels("mkl", "mkl", "mkl")) == "mkl"
    assert str(LinearKernels()) == "onednn"
    assert str(LinearKernels("onednn", "onednn", "mkl")) == (
        "forward=onednn,input_grad=onednn,weight_grad=mkl"
    )
    assert not LinearKernels("mkl", "mkl", "mkl").uses_onednn
