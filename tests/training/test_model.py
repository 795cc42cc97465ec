"""The pretrained pooler is kept (as XTREME's BertForSequenceClassification.from_pretrained does);
only the classifier is new."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel

from worker.training.model import encoder, load_classifier, pooler_state, with_fresh_head


def _config(num_labels: int = 2) -> BertConfig:
    config = BertConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    config.num_labels = num_labels
    return config


def _checkpoint(path: Path, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = BertForSequenceClassification(_config(3))
    with torch.no_grad():  # weights no initialisation would give, so "kept" cannot be a coincidence
        pooler = model.bert.pooler
        assert pooler is not None
        pooler.dense.weight.uniform_(-1, 1)
        pooler.dense.bias.fill_(0.5)
        model.classifier.bias.fill_(0.25)
    model.save_pretrained(path)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_the_checkpoints_pooler_is_kept_and_only_the_classifier_is_new(tmp_path: Path) -> None:
    saved = _checkpoint(tmp_path)
    model = load_classifier(str(tmp_path), 3, seed=1)
    state = model.state_dict()
    for key in (
        "bert.pooler.dense.weight",
        "bert.pooler.dense.bias",
        "bert.encoder.layer.0.output.dense.weight",
    ):
        assert torch.equal(state[key], saved[key]), key
    assert not torch.equal(state["classifier.bias"], saved["classifier.bias"])  # fresh, even at 3 labels
    assert not torch.equal(state["classifier.weight"], saved["classifier.weight"])
    regression = load_classifier(str(tmp_path), 1, seed=1)
    assert torch.equal(regression.state_dict()["bert.pooler.dense.weight"], saved["bert.pooler.dense.weight"])
    assert regression.state_dict()["classifier.weight"].shape == (1, 16)


def test_a_checkpoint_without_a_pooler_gets_a_fresh_seeded_one(tmp_path: Path) -> None:
    torch.manual_seed(0)
    BertModel(_config(), add_pooling_layer=False).save_pretrained(tmp_path)
    a, b = load_classifier(str(tmp_path), 3, seed=1), load_classifier(str(tmp_path), 3, seed=1)
    c = load_classifier(str(tmp_path), 3, seed=2)
    key = "bert.pooler.dense.weight"
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], c.state_dict()[key])


def test_a_new_head_takes_the_pooler_it_is_given_or_a_fresh_one(tmp_path: Path) -> None:
    saved = _checkpoint(tmp_path)
    model = load_classifier(str(tmp_path), 1, seed=1)
    pretrained = pooler_state(model)
    assert pretrained is not None and set(pretrained) == {"pooler.dense.weight", "pooler.dense.bias"}
    with torch.no_grad():  # as if stage 1 had trained everything
        for p in model.parameters():
            p.add_(0.1)
    kept = with_fresh_head(model, 3, seed=1, pooler=pretrained)
    assert torch.equal(kept.state_dict()["bert.pooler.dense.weight"], saved["bert.pooler.dense.weight"])
    body = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(encoder(kept).state_dict()[body], encoder(model).state_dict()[body])  # trained encoder
    fresh = with_fresh_head(model, 3, seed=1)
    assert not torch.equal(fresh.state_dict()["bert.pooler.dense.weight"], saved["bert.pooler.dense.weight"])
    assert not torch.equal(
        fresh.state_dict()["bert.pooler.dense.weight"], model.state_dict()["bert.pooler.dense.weight"]
    )
