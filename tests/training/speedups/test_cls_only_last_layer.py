"""The last layer computed for position 0 only: the same logits and gradients as the stock model
(BERT and XLM-R, padded batches, stock and CPU attention), the same state dict, undone afterwards,
and left alone where the head reads more than position 0."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import torch
from torch import nn
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    PreTrainedModel,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
)

from worker.training.speedups.cls_only_last_layer import cls_only_last_layer, last_layer_if_exact
from worker.training.speedups.cpu_dropout import cpu_dropout_installed

SIZES: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "vocab_size": 120,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


def tiny(kind: str) -> PreTrainedModel:
    torch.manual_seed(0)
    if kind == "bert":
        return BertForSequenceClassification(three_labels(BertConfig(**SIZES)))
    config = XLMRobertaConfig(**SIZES, max_position_embeddings=40, pad_token_id=1)
    return XLMRobertaForSequenceClassification(three_labels(config))


def three_labels(config: Any) -> Any:
    config.num_labels = 3
    return config


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(5, 120, (4, 11), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    ids[:2, 7:], mask[:2, 7:] = 1, 0
    return ids, mask


def logits_and_grads(model: nn.Module) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    ids, mask = padded_batch()
    logits = model(input_ids=ids, attention_mask=mask).logits
    nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 1])).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return logits.detach(), grads


@pytest.mark.parametrize("kind", ["bert", "xlm-roberta"])
@pytest.mark.parametrize("cpu_attention", [False, True])
def test_first_position_layer_gives_the_stock_logits_and_gradients(kind: str, cpu_attention: bool) -> None:
    model = tiny(kind).train()
    with contextlib.ExitStack() as stack:
        if cpu_attention:
            assert stack.enter_context(cpu_dropout_installed(model))
        keys = list(model.state_dict())
        stock_logits, stock_grads = logits_and_grads(model)
        with cls_only_last_layer(model) as installed:
            assert installed
            assert list(model.state_dict()) == keys, "parameter names unchanged"
            logits, grads = logits_and_grads(model)
    torch.testing.assert_close(logits, stock_logits, rtol=1e-5, atol=1e-6)
    # the last layer's key bias has a zero gradient in exact arithmetic (softmax ignores a constant
    # per row), so compare against the scale of all gradients, not each tensor's own
    scale = torch.cat([g.flatten() for g in stock_grads.values()]).abs().max()
    assert set(grads) == set(stock_grads)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, stock_grads[name], rtol=1e-4, atol=1e-5 * scale.item(), msg=name)
    assert "forward" not in vars(last_layer_if_exact(model)), "stock forward back"


def test_the_last_layer_really_computes_one_position() -> None:
    model = tiny("bert").eval()
    shapes: list[torch.Size] = []
    model.bert.encoder.layer[-1].intermediate.register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    ids, mask = padded_batch()
    with cls_only_last_layer(model):
        model(input_ids=ids, attention_mask=mask)
    model(input_ids=ids, attention_mask=mask)
    assert shapes == [torch.Size([4, 1, 64]), torch.Size([4, 11, 64])]


def test_stock_forward_is_back_after_an_exception_and_nested_use_is_a_no_op() -> None:
    model = tiny("bert")
    layer = last_layer_if_exact(model)
    assert layer is not None
    with pytest.raises(RuntimeError), cls_only_last_layer(model):
        with cls_only_last_layer(model) as inner:
            assert not inner, "already installed: the inner block leaves it to the outer"
        assert "forward" in vars(layer)
        raise RuntimeError("cancelled")
    assert "forward" not in vars(layer)


def test_a_head_that_reads_every_position_is_left_alone() -> None:
    torch.manual_seed(0)
    model = BertForTokenClassification(three_labels(BertConfig(**SIZES)))
    ids, mask = padded_batch()
    with cls_only_last_layer(model) as installed:
        assert not installed
        assert model(input_ids=ids, attention_mask=mask).logits.shape == (4, 11, 3)
