"""Models: any AutoModelForSequenceClassification checkpoint (hub id or local path) with a fresh head.

Why: the task head must always start fresh (a checkpoint that already carries a classifier, or the
regression head of STS-intermediate stage 1, must not leak into the task stage), while the encoder
carries over. We therefore build a new model from the config under the run's seed and copy in only
the encoder (`model.base_model`) weights.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

from worker.training.paths import UNCONFINED, Roots, is_local_model


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
    """The pretrained encoder of `name_or_path` with a freshly initialised head of `num_labels`
    outputs (1 = regression). An unknown id or path raises the loader's own OSError; a folder
    outside `roots` (the worker's XLT_MODEL_DIRS) raises PathRefused."""
    source, options = _source(name_or_path, roots)
    pretrained = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=num_labels, ignore_mismatched_sizes=True, dtype=torch.float32, **options
    )
    return with_fresh_head(pretrained, num_labels, seed, device)


def with_fresh_head(
    model: PreTrainedModel, num_labels: int, seed: int, device: torch.device | None = None
) -> PreTrainedModel:
    """A new model of the same architecture whose encoder weights equal `model`'s and whose
    classification head (with BERT's pooler, see HEAD_PREFIXES) is newly initialised (seeded)."""
    config = copy.deepcopy(model.config)
    config.num_labels = num_labels
    config.problem_type = "regression" if num_labels == 1 else "single_label_classification"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    carried = {k: v for k, v in encoder(model).state_dict().items() if not k.startswith(HEAD_PREFIXES)}
    missing, unexpected = encoder(fresh).load_state_dict(carried, strict=False)
    assert not unexpected and all(k.startswith(HEAD_PREFIXES) for k in missing), (missing, unexpected)
    return fresh.to(device or next(model.parameters()).device)


# Parts of `model.base_model` that belong to the head: BERT's tanh pooler (RoBERTa/XLM-R keep the same
# dense+tanh inside their classification head, which is always fresh). Regressing raw 0–5 STS-B
# scores through it saturates the tanh; carried into the task stage, it kept MiniLM at chance for all
# 282 steps (docs/RESULTS.md), while a fresh pooler learned as well as no STS-B stage at all.
HEAD_PREFIXES = ("pooler.",)


def encoder(model: PreTrainedModel) -> nn.Module:
    """The shared body (embeddings + transformer, e.g. `model.bert`, `model.roberta`)."""
    body = model.base_model
    assert isinstance(body, nn.Module)
    return body
