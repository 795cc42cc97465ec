"""rs_da: randomized smoothing by data augmentation — build the augmented training set.

Why separate from perturbations.py: this is the dataset-level policy (how many copies, whether the
original stays, where the neighbour table comes from, what to record), while perturbations.py holds
the pure per-sentence functions. Robust-XLT's perturb.py writes `--num` perturbed copies of every
pair and drops the original; `keep_original` adds it back.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from worker.training.batching import Encoded
from worker.training.data import DataError, PairExample
from worker.training.perturbations import replace_tokens, synonym_replace
from worker.training.reporter import StopCheck, stop_if_asked
from worker.training.results import AugmentationStats

STOP_CHECK_EVERY = 1000  # examples between two cancel checks (a full XNLI set takes minutes)


def load_synonym_table(path: Path) -> dict[str, list[str]]:
    """Robust-XLT's neighbour JSON: {word: [neighbour, …]}."""
    if not path.is_file():
        raise DataError(f"synonym table not found: {path}")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"synonym table {path} is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(table, dict):
        raise DataError(f"synonym table {path} must map words to lists of neighbours")
    return table


def augment_text(
    examples: Sequence[PairExample],
    table: Mapping[str, Sequence[str]],
    copies: int,
    replace_prob: float,
    keep_original: bool,
    seed: int,
    should_stop: StopCheck | None = None,
) -> tuple[list[PairExample], AugmentationStats]:
    """`copies` perturbed copies of each pair (both sentences), plus the original if asked."""
    rng = random.Random(seed)
    out: list[PairExample] = []
    changed_examples = 0
    changed_words = 0
    for i, ex in enumerate(examples):
        if i % STOP_CHECK_EVERY == 0:
            stop_if_asked(should_stop, "augmenting the training set")
        if keep_original:
            out.append(ex)
        any_changed = False
        for c in range(copies):
            s1, n1 = synonym_replace(ex.sentence1, table, replace_prob, rng)
            s2, n2 = synonym_replace(ex.sentence2, table, replace_prob, rng)
            changed_words += n1 + n2
            any_changed = any_changed or n1 + n2 > 0
            out.append(PairExample(f"{ex.id}#aug{c}", s1, s2, ex.target))
        changed_examples += any_changed
    stats = AugmentationStats(
        neighbors="table",
        copies=copies,
        keep_original=keep_original,
        replace_prob=replace_prob,
        original_examples=len(examples),
        augmented_examples=len(out),
        examples_changed=changed_examples,
        words_changed=changed_words,
    )
    return out, stats


def augment_tokens(
    data: Encoded,
    neighbours: Mapping[int, Sequence[int]],
    copies: int,
    replace_prob: float,
    keep_original: bool,
    seed: int,
    should_stop: StopCheck | None = None,
) -> tuple[Encoded, AugmentationStats]:
    """The same policy on token ids, with neighbours from the model's input embeddings."""
    rng = random.Random(seed)
    ids_out: list[list[int]] = []
    types_out: list[list[int]] | None = [] if data.token_type_ids is not None else None
    targets: list[float] = []
    changed_examples = 0
    changed_tokens = 0
    for i, ids in enumerate(data.input_ids):
        if i % STOP_CHECK_EVERY == 0:
            stop_if_asked(should_stop, "augmenting the training set")
        variants = [list(ids)] if keep_original else []
        any_changed = False
        for _ in range(copies):
            new_ids, n = replace_tokens(ids, neighbours, replace_prob, rng)
            changed_tokens += n
            any_changed = any_changed or n > 0
            variants.append(new_ids)
        changed_examples += any_changed
        ids_out.extend(variants)
        targets.extend([data.targets[i]] * len(variants))
        if types_out is not None and data.token_type_ids is not None:
            types_out.extend([list(data.token_type_ids[i]) for _ in variants])
    stats = AugmentationStats(
        neighbors="embedding",
        copies=copies,
        keep_original=keep_original,
        replace_prob=replace_prob,
        original_examples=len(data),
        augmented_examples=len(ids_out),
        examples_changed=changed_examples,
        words_changed=changed_tokens,
    )
    return Encoded(ids_out, types_out, targets), stats
