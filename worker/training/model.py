"""Models: any AutoModelForSequenceClassification checkpoint (hub id or local path) with a fresh head.

Why: the classifier must always start fresh (a checkpoint that already carries a classifier, or the
regression head of STS-intermediate stage 1, must not leak into the task stage), while the encoder
carries over. We therefore build a new model from the config under the run's seed and copy in the
encoder (`model.base_model`) weights.

BERT's pooler (dense + tanh on [CLS], inside `base_model`) is kept from the pretrained checkpoint
when the checkpoint has one, as XTREME does (BertForSequenceClassification.from_pretrained loads
`bert.pooler` and initialises only `classifier`); a checkpoint without pooler weights gets a fresh
one. After the STS-B stage the task stage starts from the *pretrained* pooler again, not stage 1's:
regressing raw 0–5 scores through the tanh pooler saturates it, and carried into the task stage it
kept MiniLM at chance for all 282 steps (docs/RESULTS.md). RoBERTa/XLM-R have no pooler in use: their
dense+tanh lives in the classification head, which is always fresh.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

from worker.training.paths import UNCONFINED, Roots, is_local_model

# Parts of `model.base_model` that are not the shared encoder: BERT's tanh pooler.
POOLER_PREFIXES = ("pooler.",)
PoolerState = dict[str, torch.Tensor]


def _source(name_or_path: str, roots: Roots) -> tuple[str, dict[str, Any]]:
    """What to load and how: a local folder only under `roots` (PathRefused otherwise, before the disk
    is looked at) and never from the hub; remote code is never trusted."""
    source = roots.model_source(name_or_path, resolve=True)
    return source, {"trust_remote_code": False, "local_files_only": is_local_model(source)}


def load_tokenizer(name_or_path: str, roots: Roots = UNCONFINED) -> Any:
    source, options = _source(name_or_path, roots)
    return AutoTokenizer.from_pretrained(source, **options)


def load_classifier(
    name_or_path: str,
    num_labels: int,
    seed: int,
    device: torch.device | None = None,
    roots: Roots = UNCONFINED,
) -> PreTrainedModel:
    """The pretrained encoder of `name_or_path` (with its pooler, when the checkpoint has one) and a
    freshly initialised classifier of `num_labels` outputs (1 = regression). An unknown id or path
    raises the loader's own OSError; a folder outside `roots` (the worker's XLT_MODEL_DIRS) raises
    PathRefused."""
    source, options = _source(name_or_path, roots)
    pretrained, info = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=num_labels,
        ignore_mismatched_sizes=True,
        dtype=torch.float32,
        output_loading_info=True,
        **options,
    )
    checkpoint_has_pooler = not any("pooler" in key.split(".") for key in info["missing_keys"])
    pooler = pooler_state(pretrained) if checkpoint_has_pooler else None
    return with_fresh_head(pretrained, num_labels, seed, device, pooler=pooler)


def pooler_state(model: PreTrainedModel) -> PoolerState | None:
    """A copy of the pooler's weights (keys relative to `base_model`), None for a model without one."""
    state = {
        k: v.detach().clone() for k, v in encoder(model).state_dict().items() if k.startswith(POOLER_PREFIXES)
    }
    return state or None


def with_fresh_head(
    model: PreTrainedModel,
    num_labels: int,
    seed: int,
    device: torch.device | None = None,
    pooler: PoolerState | None = None,
) -> PreTrainedModel:
    """A new model of the same architecture whose encoder weights equal `model`'s, whose classifier is
    newly initialised (seeded), and whose pooler (if the architecture has one) is `pooler` when given,
    else newly initialised as well."""
    config = copy.deepcopy(model.config)
    config.num_labels = num_labels
    config.problem_type = "regression" if num_labels == 1 else "single_label_classification"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    carried = {k: v for k, v in encoder(model).state_dict().items() if not k.startswith(POOLER_PREFIXES)}
    if pooler is not None:
        carried |= pooler
    missing, unexpected = encoder(fresh).load_state_dict(carried, strict=False)
    assert not unexpected and all(k.startswith(POOLER_PREFIXES) for k in missing), (missing, unexpected)
    return fresh.to(device or next(model.parameters()).device)


def encoder(model: PreTrainedModel) -> nn.Module:
    """The shared body (embeddings + transformer, e.g. `model.bert`, `model.roberta`)."""
    body = model.base_model
    assert isinstance(body, nn.Module)
    return body
