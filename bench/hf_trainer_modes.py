"""Hugging Face `Trainer` baselines for bench/train_throughput.py, on the same model, data and batch size.

Three modes a researcher meets in practice: padding every example to 128 tokens (XTREME's run_xnli
default), dynamic padding per batch, and `train_sampling_strategy="group_by_length"` (transformers 5).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
)

LABELS = {"entailment": 0, "neutral": 1, "contradiction": 2}


class _StepClock(TrainerCallback):
    """Times the steps after the warm-up ones, so model load and first-step allocation don't count."""

    def __init__(self, warmup_steps: int) -> None:
        self.warmup_steps = warmup_steps
        self.started: float | None = None
        self.ended: float | None = None

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.warmup_steps:
            self.started = time.perf_counter()
        self.ended = time.perf_counter()


def trainer_examples_per_second(
    model_path: str, pairs: list[dict[str, Any]], mode: str, batch_size: int = 32, warmup_steps: int = 2
) -> tuple[float, int]:
    """One epoch of HF Trainer in `mode` (padded128 | dynamic | group_by_length) → (ex/s, steps timed)."""
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    padded = mode == "padded128"

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        enc = tokenizer(
            batch["sentence1"],
            batch["sentence2"],
            truncation=True,
            max_length=128,
            padding="max_length" if padded else False,
        )
        enc["labels"] = [LABELS[label] for label in batch["label"]]
        return enc

    dataset = Dataset.from_list(pairs).map(
        encode, batched=True, remove_columns=["id", "sentence1", "sentence2", "label"]
    )
    if mode == "group_by_length":
        dataset = dataset.map(lambda ex: {"length": len(ex["input_ids"])})
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=3)
    clock = _StepClock(warmup_steps)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=str(Path(out)),
            per_device_train_batch_size=batch_size,
            num_train_epochs=1,
            learning_rate=2e-5,
            warmup_steps=0.1,  # a float below 1 is a ratio in transformers 5
            weight_decay=0.01,
            logging_steps=10_000,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if mode == "group_by_length" else "random",
            seed=0,
            disable_tqdm=True,
        )
        collator = default_data_collator if padded else DataCollatorWithPadding(tokenizer)
        trainer = Trainer(
            model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[clock]
        )
        trainer.train()
        steps = trainer.state.global_step - warmup_steps
    assert clock.started is not None and clock.ended is not None
    timed_examples = min(steps * batch_size, len(pairs) - warmup_steps * batch_size)
    return timed_examples / (clock.ended - clock.started), steps
