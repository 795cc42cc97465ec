"""The last encoder layer computed for the first position ([CLS] / <s>) only.

Why: the sequence-classification heads of BERT, RoBERTa and XLM-R read only position 0 of the
last hidden state (BERT's pooler, RoBERTa's classification head). For every other position, the
last layer's query, attention output, output projection and feed-forward block are computed and then
thrown away: 10 of the layer's 12·h² multiply-adds per token, 14 % of MiniLM's linear FLOPs over
its 6 layers, 7 % of XLM-R base's over 12 (arithmetic, not a timing). Keys and values still come
from every position, so the logits and every gradient are the stock ones
(tests/training/speedups/test_cls_only_last_layer.py). The only difference is that the dropout
masks of the discarded positions are no longer drawn.

The layer's own `forward` is replaced on the instance, as accelerate's hooks do, so parameter names
and the state dict stay the same. Calls this is not exact for go to the stock forward: a cache,
cross-attention, or a mask that is not a 4-D tensor (flash attention's 2-D padding mask, flex
attention's BlockMask).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.bert.modeling_bert import eager_attention_forward

# heads that read position 0 only: BertForSequenceClassification (pooler on [CLS]) and the
# RoBERTa / XLM-R classification heads (`features[:, 0, :]`)
FIRST_POSITION_HEADS = {
    "bert": "BertForSequenceClassification",
    "roberta": "RobertaForSequenceClassification",
    "xlm-roberta": "XLMRobertaForSequenceClassification",
}


def last_layer_if_exact(model: nn.Module) -> nn.Module | None:
    """The last encoder layer of `model` when computing it for position 0 alone is exact, else None."""
    config = getattr(model, "config", None)
    if config is None or FIRST_POSITION_HEADS.get(config.model_type) != type(model).__name__:
        return None
    if config.is_decoder or config.add_cross_attention or config.chunk_size_feed_forward:
        return None
    layers = getattr(getattr(getattr(model, "base_model", None), "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        return None
    layer = layers[-1]
    parts = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output")
    if not all(_has(layer, path) for path in (*parts, "intermediate", "output")):
        return None
    return layer


@contextlib.contextmanager
def cls_only_last_layer(model: nn.Module) -> Iterator[bool]:
    """Within the block, `model`'s last layer computes position 0 only (where that is exact; yields
    whether it was installed). The stock forward is back afterwards, also on an exception."""
    layer = last_layer_if_exact(model)
    if layer is None or "forward" in vars(layer):  # unsupported, or already installed
        yield False
        return
    stock = layer.forward

    def forward(
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        exact = (
            encoder_hidden_states is None
            and not args
            and kwargs.get("cache") is None
            and kwargs.get("encoder_attention_mask") is None
            and (
                attention_mask is None
                or (isinstance(attention_mask, torch.Tensor) and attention_mask.dim() == 4)
            )
        )
        if not exact:
            return stock(hidden_states, attention_mask, encoder_hidden_states, *args, **kwargs)
        kwargs.pop("cache", None)
        kwargs.pop("encoder_attention_mask", None)
        return first_position_forward(layer, hidden_states, attention_mask, **kwargs)

    layer.forward = forward  # type: ignore[method-assign]
    try:
        yield True
    finally:
        del layer.forward


def first_position_forward(
    layer: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None, **kwargs: Any
) -> torch.Tensor:
    """A BERT-style layer's output at position 0, (batch, 1, hidden): the query from position 0,
    keys and values from all positions, then output projection, residual, LayerNorm, feed-forward.
    `layer` is duck-typed: the BertLayer structure that `last_layer_if_exact` checked."""
    attention = layer.attention.self
    batch = hidden_states.shape[0]
    first = hidden_states[:, :1]
    heads = (batch, -1, attention.num_attention_heads, attention.attention_head_size)
    query = attention.query(first).view(heads).transpose(1, 2)  # (batch, heads, 1, head_dim)
    key = attention.key(hidden_states).view(heads).transpose(1, 2)
    value = attention.value(hidden_states).view(heads).transpose(1, 2)
    if attention_mask is not None:
        attention_mask = attention_mask[:, :, :1]  # (batch, 1, 1, k_len): the first query's row
    implementation = attention.config._attn_implementation
    attend = ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)
    context, _ = attend(
        attention,
        query,
        key,
        value,
        attention_mask,
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=attention.scaling,
        **kwargs,
    )
    context = context.reshape(batch, 1, -1).contiguous()
    attended = layer.attention.output(context, first)
    output: torch.Tensor = layer.output(layer.intermediate(attended), attended)
    return output


def _has(module: nn.Module, path: str) -> bool:
    try:
        module.get_submodule(path)
    except AttributeError:
        return False
    return True
