"""Builders of sample result folders, written the way run_classify.py writes them.

The strings below follow XTREME's / Robust-XLT's third_party/run_classify.py main(): the log line
is `logging.info("Input args: %r" % args)` under the script's logging format, the results file is
appended block by block, and each `test-{lang}.tsv` holds one predicted label per line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from worker.training.languages import DATASET_LANGUAGES

LOG_PREFIX = "12/04/2024 13:48:00 - INFO - root -   "
FolderBuilder = Callable[..., Path]


def run_classify_args(**overrides: object) -> argparse.Namespace:
    """The argparse Namespace of run_classify.py as Robust-XLT's train_xnli.sh calls it."""
    args: dict[str, object] = {
        "data_dir": "/data/data_generalized_augment/xnli",
        "model_type": "bert",
        "model_name_or_path": "bert-base-multilingual-cased",
        "output_dir": "/out/xnli/bert-base-multilingual-cased-LR2e-5-epoch1-MaxLen128/",
        "train_language": "en",
        "predict_languages": "en,ar,bg",
        "task_name": "xnli",
        "max_seq_length": 128,
        "do_train": True,
        "do_eval": True,
        "do_predict": True,
        "train_split": "train",
        "test_split": "test",
        "per_gpu_train_batch_size": 8,
        "gradient_accumulation_steps": 4,
        "learning_rate": 2e-05,
        "weight_decay": 0.0,
        "max_grad_norm": 1.0,
        "num_train_epochs": 1.0,
        "warmup_steps": 0,
        "log_file": "train.log",
        "seed": 7,
        "fp16": False,
    }
    args.update(overrides)
    return argparse.Namespace(**args)


def results_block(scores: dict[str, float], checkpoint: str = "/out/checkpoint-best") -> str:
    lines = [f"======= Predict using the model from {checkpoint} for test:"]
    lines += [f"{lang}={acc}" for lang, acc in scores.items()]
    lines.append(f"total={sum(scores.values()) / len(scores)}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def xtreme_folder() -> FolderBuilder:
    """Write one run_classify.py output folder; returns it."""

    def build(
        folder: Path,
        scores: dict[str, float],
        *,
        args: argparse.Namespace | None = None,
        n: int = 5,
        log_name: str = "train.log",
        extra_blocks: Sequence[str] = (),
    ) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if args is not None:
            (folder / log_name).write_text(
                f"{LOG_PREFIX}Input args: {args!r}\n{LOG_PREFIX}config = {{...}}\n", encoding="utf-8"
            )
        text = results_block(scores) + "".join(extra_blocks)
        (folder / "test_results.txt").write_text(text, encoding="utf-8")
        for lang in scores:
            (folder / f"test-{lang}.tsv").write_text("entailment\n" * n, encoding="utf-8")
        (folder / "eval_results").write_text(
            "acc_best = 0.81\nnum_best = 2490\ncorrect_best = 2017\n"
            "Best checkpoint is /out/checkpoint-best, best accuracy is 0.81",
            encoding="utf-8",
        )
        return folder

    return build


@pytest.fixture
def xnli_scores() -> dict[str, float]:
    """All 15 XNLI languages, accuracies 0.60, 0.61, … in the published order."""
    return {lang: round(0.6 + i / 100, 4) for i, lang in enumerate(DATASET_LANGUAGES["xnli"])}


@pytest.fixture
def make_args() -> Callable[..., argparse.Namespace]:
    return run_classify_args
