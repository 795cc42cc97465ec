"""The kept word-embedding gradient: the same dense gradient as a stock embedding, step after step
(with accumulation and padding, zeroed by a plain `zero_grad`), and nothing left behind when the
stage ends."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForMaskedLM

from worker.training.model import load_classifier
from worker.training.speedups import embedding_grad
from worker.training.speedups.embedding_grad import embedding_grad_kept, keep_embedding_grad


def batch(seed: int, vocab: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (4, 9), generator=gen)
    mask = torch.ones_like(ids)
    ids[:2, 6:], mask[:2, 6:] = pad_id, 0
    return ids, mask


def test_kept_gradient_equals_the_stock_gradient_across_steps_and_accumulation(tiny_model: Path) -> None:
    stock = load_classifier(str(tiny_model), 3, seed=0).train()
    kept_model = load_classifier(str(tiny_model), 3, seed=0).train()
    for m in (stock, kept_model):  # dropout off, so both see the same forward
        for module in m.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    embedding = kept_model.get_input_embeddings()
    vocab, pad_id = embedding.num_embeddings, embedding.padding_idx
    labels = torch.tensor([0, 1, 2, 1])
    with embedding_grad_kept(kept_model) as kept:
        assert kept is not None
        assert embedding.sparse, "the backward must hand autograd a sparse gradient, not a dense one"
        for step, micro_batches in enumerate([(1, 2), (3,), (4, 5)]):  # accumulation of 2, 1, 2
            for seed in micro_batches:
                ids, mask = batch(seed, vocab, pad_id)
                for m in (stock, kept_model):
                    logits = m(input_ids=ids, attention_mask=mask).logits
                    nn.functional.cross_entropy(logits, labels).backward()
            stock_grad = stock.get_input_embeddings().weight.grad
            assert embedding.weight.grad is kept.buffer and not kept.buffer.is_sparse
            torch.testing.assert_close(kept.buffer, stock_grad, rtol=1e-5, atol=1e-7)
            assert kept.buffer[pad_id].abs().sum() == 0, "the padding row never gets a gradient"
            assert kept.buffer.abs().sum() > 0
            stock.zero_grad()  # set_to_none=True, torch's default, as the trainer does
            kept_model.zero_grad()
            assert embedding.weight.grad is None, f"step {step}: a plain zero_grad, nothing else"
            kept_model(input_ids=ids[:1], attention_mask=mask[:1])  # the next forward, before backward
            assert embedding.weight.grad is kept.buffer, f"step {step}: buffer handed back"
            assert kept.buffer.abs().sum() == 0, f"step {step}: every written row is zeroed again"

    assert embedding.weight.grad is None and not embedding.sparse
    ids, mask = batch(9, vocab, pad_id)
    kept_model(input_ids=ids, attention_mask=mask).logits.sum().backward()
    grad = embedding.weight.grad
    assert grad is not None and not grad.is_sparse and grad is not kept.buffer


def test_zero_grad_that_keeps_the_tensors_still_gives_the_stock_gradient(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`zero_grad(set_to_none=False)` zeroes the whole buffer in place; the rows read since are
    folded into one tensor, so they cannot pile up step after step."""
    stock = load_classifier(str(tiny_model), 3, seed=0).eval()
    kept_model = load_classifier(str(tiny_model), 3, seed=0).eval()
    embedding = kept_model.get_input_embeddings()
    vocab, pad_id = embedding.num_embeddings, embedding.padding_idx
    monkeypatch.setattr(embedding_grad, "MAX_ROW_TENSORS", 4)
    with embedding_grad_kept(kept_model) as kept:
        assert kept is not None
        for seed in range(10):
            ids, mask = batch(seed, vocab, pad_id)
            for m in (stock, kept_model):
                m.zero_grad(set_to_none=False)
                m(input_ids=ids, attention_mask=mask).logits.sum().backward()
        assert len(kept.rows) <= 5
        torch.testing.assert_close(kept.buffer, stock.get_input_embeddings().weight.grad)


def test_forwards_without_autograd_record_nothing(tiny_model: Path) -> None:
    model = load_classifier(str(tiny_model), 3, seed=0)
    kept = keep_embedding_grad(model)
    assert kept is not None
    ids, mask = batch(0, 100, 0)
    with torch.inference_mode():
        model.eval()(input_ids=ids, attention_mask=mask)
    assert kept.rows == []


def test_not_installed_where_the_gradient_would_not_be_sparse_or_is_already_handled() -> None:
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    tied = BertForMaskedLM(config)  # the decoder shares the word-embedding weight
    assert tied.get_output_embeddings().weight is tied.get_input_embeddings().weight
    assert keep_embedding_grad(tied) is None

    class Renormalising(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4, max_norm=1.0)

        def get_input_embeddings(self) -> nn.Module:
            return self.embed

    assert keep_embedding_grad(Renormalising()) is None
    assert keep_embedding_grad(nn.Linear(2, 2)) is None
