"""Hugging Face `Trainer` baselines for bench/train_throughput.py, on the same model, data and batch size.

Three modes a researcher meets in practice: padding every example to 128 tokens (XTREME's run_xnli
default), dynamic padding per batch, and `train_sampling_strategy="group_by_length"` (transformers 5).
Each mode runs in its own process (`python -m bench.hf_trainer_modes MODE`), as a user would run it:
XLT Lab's allocator setting is process-wide and would otherwise speed up the baseline too; with
`--tuned-allocator` it is applied first, to show how much of the gap that setting alone makes.
"""

from __future__ import annotations

import argparse
import json
import os
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
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the step's kernels are done before its time is read
        if state.global_step == self.warmup_steps:
            self.started = time.perf_counter()
        self.ended = time.perf_counter()


def trainer_examples_per_second(
    model_path: str,
    pairs: list[dict[str, Any]],
    mode: str,
    batch_size: int = 32,
    warmup_steps: int = 2,
    device: str = "cpu",
) -> tuple[float, int]:
    """One epoch of HF Trainer in `mode` (padded128 | dynamic | group_by_length) → (ex/s, steps timed);
    on `device` cuda in bf16 autocast (`bf16=True`), as its users run it on a GPU."""
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
            use_cpu=device == "cpu",
            bf16=device == "cuda",
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


def xnli_pairs(data_dir: Path, n: int) -> list[dict[str, Any]]:
    """The first `n` English MultiNLI training pairs of ../shared/data, in Trainer's column layout."""
    from worker.training.config import DataConfig
    from worker.training.data import load_split

    examples = load_split(DataConfig(source="local", dir=str(data_dir)), "xnli", "train", "en", n)
    names = list(LABELS)
    return [
        {"id": e.id, "sentence1": e.sentence1, "sentence2": e.sentence2, "label": names[int(e.target)]}
        for e in examples
    ]


def main() -> None:
    from bench.machine_state import cpu_window
    from bench.train_throughput import BATCH, DATA_DIR, minilm_path
    from worker.training.speedups.cpu_allocator import keep_freed_memory_in_heap

    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["group_by_length", "dynamic", "padded128"])
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--tuned-allocator", action="store_true")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.tuned_allocator:
        keep_freed_memory_in_heap()
    pairs = xnli_pairs(DATA_DIR, args.examples)
    with cpu_window() as cpu:
        ex_s, steps = trainer_examples_per_second(minilm_path(), pairs, args.mode, BATCH, device=args.device)
    row = {"ex_s": ex_s, "steps": steps, "wall_s": cpu.wall_s}
    row |= {"other_cpu_pct": cpu.other_cpu_pct, "steal_pct": cpu.steal_pct}
    print("RESULT " + json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
