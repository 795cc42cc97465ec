"""How what an MLflow script logs becomes an XLT run: params → run config, metric names → per-language
scores or history, MLflow run statuses ↔ XLT run statuses. Pure functions, no SQL.

    params     `model`, `task`, `lr`, `seed`, `train.batch_size`, `num_train_epochs`, … set the fields of
               the run config (worker/training/config.py) they name; a value the config refuses, and
               every param that names no field, is kept verbatim only (the run page lists them all).
    metrics    `<metric>_<lang>`, `<metric>.<lang>` or `<metric>/<lang>` with a known language code
               (worker/training/languages.py) is a per-language score, optionally prefixed by a
               dataset and a split: `xnli.test_accuracy_de`, `acc_sw`, `americasnli/accuracy_gn`.
               Losses and learning rates, and any metric logged with a step > 0, are history (the
               loss curve's store). Everything else is kept as logged.
    statuses   FINISHED → succeeded, FAILED → failed, KILLED → cancelled; RUNNING (and SCHEDULED,
               which XLT Lab never queues for an MLflow run) → running.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from worker.training.config import METHOD_LABELS, RunConfig, TaskName, label_for_method
from worker.training.languages import COMPATIBLE_EXTRA, DATASET_LANGUAGES, LANGUAGES
from worker.training.results import RunStatus, Score, Summary
from worker.training.summary import summarize

# ── statuses ─────────────────────────────────────────────────────────────────────────────────────

TO_XLT_STATUS: dict[str, RunStatus] = {
    "RUNNING": "running",
    "SCHEDULED": "running",  # a queued XLT run is one a worker will train: never for a logged run
    "FINISHED": "succeeded",
    "FAILED": "failed",
    "KILLED": "cancelled",
}
TO_MLFLOW_STATUS: dict[RunStatus, str] = {
    "queued": "SCHEDULED",
    "running": "RUNNING",
    "succeeded": "FINISHED",
    "failed": "FAILED",
    "cancelled": "KILLED",
}

# ── params → run config ──────────────────────────────────────────────────────────────────────────

TASKS: tuple[str, ...] = get_args(TaskName)
# What scripts commonly call the config's fields (Hugging Face TrainingArguments, XTREME's and
# Robust-XLT's run_classify.py arguments, plain names).
ALIASES: dict[str, str] = {
    "model_name": "model",
    "model_name_or_path": "model",
    "model_path": "model",
    "base_model": "model",
    "pretrained_model": "model",
    "encoder": "model",
    "task_name": "task",
    "dataset": "task",
    "dataset_name": "task",
    "benchmark": "task",
    "method": "robust.method",
    "robust_method": "robust.method",
    "intermediate_task": "intermediate.task",
    "source_lang": "source_language",
    "src_lang": "source_language",
    "train_language": "source_language",
    "lr": "train.learning_rate",
    "num_train_epochs": "train.epochs",
    "num_epochs": "train.epochs",
    "n_epochs": "train.epochs",
    "per_device_train_batch_size": "train.batch_size",
    "per_gpu_train_batch_size": "train.batch_size",
    "train_batch_size": "train.batch_size",
    "gradient_accumulation_steps": "train.grad_accum",
    "max_seq_length": "train.max_seq_len",
    "max_length": "train.max_seq_len",
    "warmup_proportion": "train.warmup_ratio",
    "max_train_samples": "train.max_train_examples",
    "random_seed": "train.seed",
}
_SECTIONS: dict[str, type[BaseModel]] = {
    name: info.annotation  # type: ignore[misc]
    for name, info in RunConfig.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
}
_SECTIONS["intermediate"] = RunConfig.model_fields["intermediate"].annotation.__args__[0]  # type: ignore[union-attr]
_TOP_FIELDS = {"task", "model", "source_language"}
# A bare field name maps to train.* first, then robust.* (intermediate/eval/data need the dotted path).
_BARE = {
    name: f"{section}.{name}" for section in ("robust", "train") for name in _SECTIONS[section].model_fields
}
_NONE_WORDS = {"", "none", "null", "nil"}
_LIST_PATHS = {"eval.languages", "eval.extra"}
CROSS_CHECKED: tuple[str, ...] = ("eval.languages", "source_language", "eval.extra")  # against the task
_NONE_MEANS_OFF = {"robust.method", "intermediate.task"}  # 'none' is a value there, not a missing one


def param_path(key: str) -> str | None:
    """The config field a param sets (a dotted path), or None when it names none."""
    name = key.strip().lower().replace("-", "_")
    if name in _TOP_FIELDS:
        return name
    section, _, field_name = name.partition(".")
    if field_name and section in _SECTIONS and field_name in _SECTIONS[section].model_fields:
        return name
    last = re.split(r"[./]", name)[-1]
    return ALIASES.get(last) or (last if last in _TOP_FIELDS else _BARE.get(last))


def _value(path: str, raw: str) -> Any:
    """A param's string as the config field wants it (pydantic coerces numbers and booleans)."""
    text = raw.strip()
    if path == "task":
        return re.sub(r"[-_ ]", "", text.lower())  # "PAWS-X" → "pawsx"
    if path == "robust.method":
        return text.lower().replace("-", "_")  # "RS-DA" → "rs_da"
    if path == "intermediate.task":
        return text.lower().replace("-", "")  # "STS-B" → "stsb"
    if path in _LIST_PATHS:
        if text.startswith("["):
            try:
                return json.loads(text.replace("'", '"'))
            except ValueError:
                return text
        return [part for part in re.split(r"[,\s]+", text) if part]
    return text


@dataclass(frozen=True)
class MappedConfig:
    """The run config that the params make: `complete` when it validates as a RunConfig (task and model
    known), else only the fields that mapped. `used` is param key → the field it set."""

    config: dict[str, Any]
    complete: bool
    used: dict[str, str] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return str(self.config.get("task") or "")

    @property
    def model(self) -> str:
        return str(self.config.get("model") or "")

    @property
    def method(self) -> str:
        if self.complete:
            return RunConfig.model_validate(self.config).method_label
        intermediate = (self.config.get("intermediate") or {}).get("task")
        return label_for_method(intermediate, (self.config.get("robust") or {}).get("method", "none"))

    @property
    def seed(self) -> int:
        return int((self.config.get("train") or {}).get("seed", 0))

    @property
    def source_language(self) -> str:
        return str(self.config.get("source_language") or "en")


def _nested(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in values.items():
        if path == "robust.method" and value in METHOD_LABELS and "+" in value:  # a label: 'stsb+rs_da'
            stage, method = value.split("+", 1)
            out.setdefault("intermediate", {}).setdefault("task", stage)
            value = method
        if path == "robust.method" and value == "baseline":
            value = "none"
        section, _, name = path.partition(".")
        if not name:
            out[section] = value
        elif path == "intermediate.task" and str(value).lower() in _NONE_WORDS | {"false", "off"}:
            out["intermediate"] = None
        elif out.get(section, {}) is not None:
            out.setdefault(section, {})[name] = value
    return out


def infer_task(languages: Iterable[str]) -> str | None:
    """The one task whose languages (with its extra evaluation sets') cover every language logged."""
    langs = set(languages)
    if not langs:
        return None
    fits = [
        t
        for t in TASKS
        if langs <= set(DATASET_LANGUAGES[t]).union(*(DATASET_LANGUAGES[e] for e in COMPATIBLE_EXTRA[t]))
    ]
    return fits[0] if len(fits) == 1 else None


def config_from_params(params: Mapping[str, str], languages: Iterable[str] = ()) -> MappedConfig:
    """Map the params onto a run config; the task, when no param names it, from the languages scored.

    A value the config refuses (a batch size of 0, an unknown method) drops that param from the
    mapping (it stays verbatim); the rest still maps.
    """
    chosen: dict[str, tuple[str, Any]] = {}
    # Exact field names first, so `learning_rate` wins over `lr` when a script logs both.
    for key in sorted(params, key=lambda k: (param_path(k) != k.strip().lower(), k)):
        path = param_path(key)
        if path is None or path in chosen:
            continue
        if params[key].strip().lower() in _NONE_WORDS and path not in _NONE_MEANS_OFF:
            continue  # `max_train_samples=None`: the script did not set it, the default stands
        chosen[path] = (key, _value(path, params[key]))
    if "task" not in chosen and (task := infer_task(languages)):
        chosen["task"] = ("", task)
    while True:
        data = _nested({p: v for p, (_, v) in chosen.items()})
        probe = {"task": "xnli", "model": "m", **data}  # placeholders so that every other field is checked
        if probe.get("task") not in TASKS:
            chosen.pop("task", None)
            continue
        try:
            validated = RunConfig.model_validate(probe).model_dump(mode="json")
        except ValidationError as exc:
            bad = {".".join(str(p) for p in err["loc"]) for err in exc.errors()}
            refused = [
                p
                for p in chosen
                if any(b == p or b.startswith(p + ".") or p.startswith(b + ".") for b in bad)
            ]
            if not refused:  # a cross-field rule (e.g. languages of another task): drop the task's own
                refused = [p for p in CROSS_CHECKED if p in chosen][:1]
            if not refused:
                return MappedConfig(config=data, complete=False)
            for path in refused:
                chosen.pop(path)
            continue
        used = {key: path for path, (key, _) in chosen.items() if key}
        if "task" in chosen and "model" in chosen:
            return MappedConfig(config=validated, complete=True, used=used)
        partial = {k: validated[k] for k in data if k in validated}
        for section, values in data.items():
            if isinstance(values, dict) and isinstance(validated.get(section), dict):
                partial[section] = {k: validated[section][k] for k in values}
        return MappedConfig(config=partial, complete=False, used=used)


# ── metrics → scores, history, kept ──────────────────────────────────────────────────────────────

SPLITS = {"test": "test", "dev": "dev", "val": "dev", "valid": "dev", "validation": "dev", "train": "train"}
DROPPED_PREFIXES = {"eval", "final", "best"}  # `eval_accuracy_de` (Hugging Face's evaluate()) is accuracy
METRIC_ALIASES = {"acc": "accuracy"}
_LANGUAGE_KEY = re.compile(r"^(?P<prefix>.+)[._/](?P<lang>[a-z]{2,3})$")
LOSS_NAMES = {"loss", "train_loss", "training_loss", "train/loss"}
LR_NAMES = {"lr", "learning_rate", "train/learning_rate", "train/lr"}
HISTORY_NAME_LENGTH = 64


@dataclass(frozen=True)
class ScoreKey:
    """What a per-language metric name says: its metric and language, and dataset and split if named."""

    metric: str
    language: str
    dataset: str | None = None
    split: str | None = None


def score_key(key: str) -> ScoreKey | None:
    match = _LANGUAGE_KEY.match(key.strip().lower())
    if match is None or match["lang"] not in LANGUAGES:
        return None
    parts = [p for p in re.split(r"[._/]", match["prefix"]) if p]
    dataset = parts.pop(0) if len(parts) > 1 and parts[0] in DATASET_LANGUAGES else None
    split = SPLITS[parts.pop(0)] if len(parts) > 1 and parts[0] in SPLITS else None
    if len(parts) > 1 and parts[0] in DROPPED_PREFIXES:
        parts.pop(0)
    metric = "_".join(parts)
    metric = METRIC_ALIASES.get(metric, metric)
    if not metric or len(metric) > 32:
        return None
    return ScoreKey(metric=metric, language=match["lang"], dataset=dataset, split=split)


def history_name(key: str) -> str:
    """The series a stepped metric joins: 'loss', 'lr', or the metric's own name."""
    name = key.strip().lower()
    if name in LOSS_NAMES:
        return "loss"
    if name in LR_NAMES:
        return "lr"
    return key[:HISTORY_NAME_LENGTH]


def is_history(key: str, step: int) -> bool:
    """History: not a per-language score, and a loss or learning rate, or logged at a step > 0."""
    return score_key(key) is None and (history_name(key) in ("loss", "lr") or step > 0)


def score_languages(keys: Iterable[str]) -> set[str]:
    return {sk.language for k in keys if (sk := score_key(k)) is not None}


def _dataset(sk: ScoreKey, task: str | None) -> str:
    if sk.dataset:
        return sk.dataset
    if task in DATASET_LANGUAGES:
        if sk.language in DATASET_LANGUAGES[task]:
            return task
        for extra in COMPATIBLE_EXTRA.get(task, ()):
            if sk.language in DATASET_LANGUAGES[extra]:
                return extra
        return task
    return "unknown"


def scores_from_metrics(latest: Mapping[str, float], mapped: MappedConfig) -> list[Score]:
    """One score per (dataset, language, split, metric) from the latest value of each per-language
    metric (`n` is 0: an MLflow metric does not say over how many examples). Non-finite values are
    left out, as for trained runs."""
    task = mapped.task or None
    split = str((mapped.config.get("eval") or {}).get("split") or "test")
    scores: dict[tuple[str, str, str, str], Score] = {}
    for key in sorted(latest):
        sk, value = score_key(key), latest[key]
        if sk is None or value != value or value in (float("inf"), float("-inf")):
            continue
        dataset = _dataset(sk, task)
        score = Score(
            dataset=dataset, language=sk.language, split=sk.split or split, metric=sk.metric, value=value, n=0
        )
        scores[(score.dataset, score.language, score.split, score.metric)] = score
    return list(scores.values())


def summary_of(scores: list[Score], mapped: MappedConfig) -> Summary:
    """The summary trained runs store: accuracy averaged over the task's languages, tiers, transfer gap."""
    if not mapped.task:
        return Summary()
    return summarize(scores, mapped.task, mapped.source_language)
