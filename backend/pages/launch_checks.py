"""What the launch form says before launch: a local data folder that is not there (or lacks the task's
training file), and how long a CPU run should take.

Both are computed on the server, when the page renders and again from `/launch/checks.json` as the
form changes (frontend/static/js/launch.js), so a mistake shows before a run fails on it.

The estimate is examples × passes / measured throughput. The throughputs are those of the shipped
MiniLM (6 layers, hidden 384) in fp32 on the 2-core CPU machine where the Quick CPU demo was measured
(docs/BENCHMARKS.md, "Quick CPU demo preset"); other models scale by their per-token cost, layers ×
hidden², read from a local model's config.json or from the table of hub models the form suggests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.pages.launch_form import parse_launch_form
from worker.training.config import DEFAULT_EPOCHS, DEFAULT_RS_DA_COPIES, RunConfig
from worker.training.languages import DATASET_LANGUAGES

# Measured (docs/BENCHMARKS.md, "Quick CPU demo preset"): MiniLM-L6, fp32, 2 idle cores, XNLI, batch 32.
CPU_TRAIN_EXAMPLES_PER_S = 55.0  # training examples per second, forward + backward + step
CPU_EVAL_EXAMPLES_PER_S = 130.0  # evaluation examples per second (length-sorted batches)
CPU_STARTUP_S = 20.0  # process start, model and data loading, tokenization
REFERENCE_SHAPE = (6, 384)  # MiniLM-L6: layers, hidden size
HUB_SHAPES: dict[str, tuple[int, int]] = {  # the hub models the form suggests
    "xlm-roberta-base": (12, 768),
    "xlm-roberta-large": (24, 1024),
    "bert-base-multilingual-cased": (12, 768),
    "microsoft/mdeberta-v3-base": (12, 768),
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": (12, 384),
}
# Full sizes on the hub (data.source hf): (dataset, split) → examples per language.
HUB_SIZES: dict[tuple[str, str], int] = {
    ("xnli", "train"): 392_702,
    ("xnli", "dev"): 2_490,
    ("xnli", "test"): 5_010,
    ("pawsx", "train"): 49_401,
    ("pawsx", "dev"): 2_000,
    ("pawsx", "test"): 2_000,
    ("stsb", "train"): 5_749,
    ("americasnli", "test"): 750,
}


@lru_cache(maxsize=256)
def _count_lines(path: str, mtime_ns: int) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def split_size(config: RunConfig, dataset: str, split: str, language: str) -> int:
    """Examples in one split: counted in the local file, else the hub's published size."""
    if config.data.source == "local" and config.data.dir:
        path = Path(config.data.dir) / dataset / f"{split}.{language}.jsonl"
        try:
            return _count_lines(str(path), path.stat().st_mtime_ns)
        except OSError:
            return 0
    return HUB_SIZES.get((dataset, split), 0)


def data_dir_warning(source: str, folder: str, task: str, language: str) -> str | None:
    """Why a local data folder would fail the run (None when it looks right or is not used)."""
    if source != "local" or not folder:
        return None
    root = Path(folder)
    if not root.is_dir():
        return (
            f"No folder {folder} on this server: the run would fail when it loads its data. "
            "Write one with `xlt data prepare --out DIR`, or choose Hugging Face datasets."
        )
    train = root / task / f"train.{language}.jsonl"
    if task and not train.is_file():
        return f"{folder} has no {task}/train.{language}.jsonl: the run would fail when it loads its data."
    return None


def model_cost(model: str) -> float | None:
    """Per-example compute relative to MiniLM-L6 (layers × hidden²); None for a model we cannot size."""
    shape = HUB_SHAPES.get(model)
    config_file = Path(model) / "config.json"
    if shape is None and config_file.is_file():
        try:
            found = json.loads(config_file.read_text())
            shape = (int(found["num_hidden_layers"]), int(found["hidden_size"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if shape is None:
        return None
    return (shape[0] * shape[1] ** 2) / (REFERENCE_SHAPE[0] * REFERENCE_SHAPE[1] ** 2)


def _passes(config: RunConfig) -> float:
    """How many forward-backward passes each training example costs under the robust method."""
    robust = config.robust
    if robust.method == "rs_da":
        copies = robust.copies or DEFAULT_RS_DA_COPIES[config.task]
        return copies + (1 if robust.keep_original else 0)
    if robust.method == "adv":
        return 1 + 0.7 * robust.steps  # measured: K=3 costs 3.06 × a plain step (docs/BENCHMARKS.md)
    return 1.0


def estimate_cpu_seconds(config: RunConfig) -> float | None:
    """Seconds one CPU run should take on a machine like the measured one; None when not a CPU run
    (train.device cpu, fp32), the model's size is unknown or the local training file is missing."""
    if config.train.device != "cpu" or config.train.precision not in ("auto", "fp32"):
        return None
    cost = model_cost(config.model)
    if cost is None:
        return None
    source, task = config.source_language, config.task
    epochs = config.train.epochs or DEFAULT_EPOCHS[task]
    available = split_size(config, task, config.train.train_split, source)
    if not available:  # a local folder without the training file: the data warning says so
        return None
    cap = config.train.max_train_examples
    train = epochs * (min(cap, available) if cap else available) * _passes(config)
    if config.intermediate is not None:
        stage = config.intermediate
        sts = split_size(config, "stsb", "train", source)
        train += stage.epochs * (min(stage.max_examples, sts) if stage.max_examples and sts else sts)
    evaluated = epochs * split_size(config, task, config.train.dev_split, source)  # selection each epoch
    languages = config.eval.languages or list(DATASET_LANGUAGES[task])
    tests = sum(split_size(config, task, config.eval.split, lang) for lang in languages)
    evaluated += tests * (len(languages) if config.eval.generalized else 1)
    for extra in config.eval.extra:
        evaluated += sum(split_size(config, extra, "test", lang) for lang in DATASET_LANGUAGES[extra])
    return CPU_STARTUP_S + cost * (train / CPU_TRAIN_EXAMPLES_PER_S + evaluated / CPU_EVAL_EXAMPLES_PER_S)


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(10, round(seconds / 10) * 10)} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def estimate_text(configs: Sequence[RunConfig]) -> str | None:
    """'CPU estimate: about 3 min' (one run) or '… each, about 9 min for all 3 (one worker)'."""
    estimates = [estimate_cpu_seconds(c) for c in configs]
    if not estimates or any(e is None for e in estimates):
        return None
    total = sum(e for e in estimates if e is not None)
    if len(estimates) == 1:
        return f"CPU estimate: {format_duration(total)} on 2 cores"
    return (
        f"CPU estimate: {format_duration(total)} for all {len(estimates)} runs, one after another on 2 cores"
    )


@dataclass(frozen=True)
class FormChecks:
    data_warning: str | None
    estimate: str | None


def submitted_shape(values: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as a browser would submit them: unticked boxes absent, ticked ones '1'."""
    return {k: ("1" if v is True else v) for k, v in values.items() if v is not False and v != ""}


def form_checks(raw: Mapping[str, Any], data_dir: str | None) -> FormChecks:
    """The checks for a filled-in form (`raw` as submitted); the estimate only when the form is valid."""

    def one(name: str) -> str:
        value = raw.get(name, "")
        return str(value[0] if isinstance(value, list) and value else value or "").strip()

    folder = one("data.dir") or (data_dir or "")
    warning = data_dir_warning(one("data.source"), folder, one("task"), one("source_language") or "en")
    parsed = parse_launch_form(raw, data_dir)
    return FormChecks(warning, estimate_text(parsed.configs) if parsed.configs else None)
