"""Zero-shot evaluation: batched inference, per-language scores, summary and the generalized matrix.

Why: scores are what the lab stores and compares, one row per (dataset, language, split, metric);
the summary (macro average, resource-tier averages, transfer gap) is derived from them the same way
for every run. Inference runs in length-sorted batches under torch.inference_mode() (no padding to
128, no autograd bookkeeping). A cancel is honoured between batches: each function takes the
reporter's `should_stop` and raises RunCancelled when it turns true (one XLM-R batch on a CPU takes
seconds, a 15-language evaluation an hour).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from scipy import stats
from torch import nn

from worker.training import speedups
from worker.training.batching import Encoded, collate, sorted_batches
from worker.training.correctness import ItemCorrectness, encode_correctness
from worker.training.data import PairExample
from worker.training.precision import Runtime
from worker.training.reporter import StopCheck, stop_if_asked
from worker.training.results import GeneralizedMatrix, Score


@torch.inference_mode()
def predict(
    model: nn.Module,
    data: Encoded,
    batch_size: int,
    runtime: Runtime,
    pad_id: int,
    should_stop: StopCheck | None = None,
) -> torch.Tensor:
    """Logits (n, num_labels) as float32 on the CPU, in the original order of `data`; `should_stop`
    is asked before every batch (the reporters' is a clock read, their database round trip is
    rate-limited)."""
    was_training = model.training
    model.eval()
    out: torch.Tensor | None = None
    try:
        with speedups.inference(model, runtime):  # nothing but speed: see worker/training/speedups
            for indices in sorted_batches(data.lengths, batch_size):
                stop_if_asked(should_stop, "evaluating")
                batch = collate(data, indices, pad_id, False, runtime.device, runtime.pad_multiple)
                batch.pop("labels")
                with runtime.autocast():
                    logits = model(**batch).logits.float().cpu()  # (batch, num_labels)
                if out is None:
                    out = torch.empty((len(data), logits.shape[-1]), dtype=torch.float32)
                out[torch.tensor(indices)] = logits
    finally:
        model.train(was_training)
    return out if out is not None else torch.empty((0, 1))


def accuracy(logits: torch.Tensor, targets: Sequence[float]) -> float:
    if len(targets) == 0:
        return float("nan")
    return correct_items(logits, targets).float().mean().item()


def correct_items(logits: torch.Tensor, targets: Sequence[float]) -> torch.Tensor:
    """Boolean (n,): whether the arg-max class of item i equals its gold label."""
    gold = torch.tensor(list(targets), dtype=torch.long)
    return logits.argmax(-1) == gold


def correlations(predictions: torch.Tensor, targets: Sequence[float]) -> tuple[float, float]:
    """Pearson and Spearman between regression outputs and gold scores."""
    pred = predictions.squeeze(-1).double().numpy()
    gold = list(targets)
    return float(stats.pearsonr(pred, gold)[0]), float(stats.spearmanr(pred, gold)[0])


@dataclass(frozen=True)
class LanguageEvaluation:
    """One evaluation set's scores, and for classification which items the run got right."""

    scores: list[Score]
    correctness: ItemCorrectness | None = None


def score_language(
    model: nn.Module,
    data: Encoded,
    dataset: str,
    language: str,
    split: str,
    regression: bool,
    batch_size: int,
    runtime: Runtime,
    pad_id: int,
    should_stop: StopCheck | None = None,
    item_ids: Sequence[str] | None = None,
) -> LanguageEvaluation:
    """Scores of one (dataset, language, split); for classification also its per-item correctness
    (bit i = item i of `data`, in file order; `item_ids` fingerprint them, see correctness.py).
    Regression sets (STS-B) get no correctness record: there is no right or wrong per item."""
    logits = predict(model, data, batch_size, runtime, pad_id, should_stop)
    n = len(data)
    if regression:
        pearson, spearman = correlations(logits, data.targets)
        return LanguageEvaluation(
            [
                Score(dataset=dataset, language=language, split=split, metric=metric, value=value, n=n)
                for metric, value in (("pearson", pearson), ("spearman", spearman))
            ]
        )
    correct = correct_items(logits, data.targets) if n else torch.zeros(0, dtype=torch.bool)
    value = correct.float().mean().item() if n else float("nan")
    record = ItemCorrectness(
        dataset=dataset,
        language=language,
        split=split,
        correct=encode_correctness(correct.numpy(), list(item_ids) if item_ids is not None else None),
    )
    score = Score(dataset=dataset, language=language, split=split, metric="accuracy", value=value, n=n)
    return LanguageEvaluation([score], record)


def generalized_pairs(
    per_language: dict[str, list[PairExample]],
) -> tuple[list[str], list[str], dict[str, dict[str, PairExample]]]:
    """Languages, the ids present in all of them (sorted), and id → example per language."""
    languages = list(per_language)
    by_id = {lang: {ex.id: ex for ex in exs} for lang, exs in per_language.items()}
    common = set.intersection(*(set(ids) for ids in by_id.values())) if by_id else set()
    return languages, sorted(common, key=lambda x: (len(x), x)), by_id


def generalized_matrix(
    model: nn.Module,
    tokenizer: object,
    per_language: dict[str, list[PairExample]],
    dataset: str,
    max_len: int,
    batch_size: int,
    runtime: Runtime,
    pad_id: int,
    should_stop: StopCheck | None = None,
) -> GeneralizedMatrix:
    """Huang et al.'s generalized setting: accuracy[i][j] on pairs whose sentence1 is in
    languages[i] and sentence2 in languages[j], over the ids parallel in all languages. The gold
    label is that of the sentence1 language (XNLI labels are identical across languages)."""
    from worker.training.batching import encode_pairs

    languages, ids, by_id = generalized_pairs(per_language)
    matrix: list[list[float]] = []
    for lang1 in languages:
        row = []
        for lang2 in languages:
            pairs = [
                PairExample(i, by_id[lang1][i].sentence1, by_id[lang2][i].sentence2, by_id[lang1][i].target)
                for i in ids
            ]
            stop_if_asked(should_stop, f"evaluating the generalized matrix ({lang1}, {lang2})")
            data = encode_pairs(tokenizer, pairs, max_len)
            logits = predict(model, data, batch_size, runtime, pad_id, should_stop)
            row.append(accuracy(logits, data.targets))
        matrix.append(row)
    return GeneralizedMatrix(dataset=dataset, languages=languages, accuracy=matrix, n=len(ids))
