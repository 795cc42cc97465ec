"""Turning submitted JSON into validated RunConfigs: one config, or a sweep's grid over dotted fields,
and the check that a config reads only where this server allows (`check_paths`).

A bad value raises ConfigError whose message names the field (`train.learning_rate: …`); for a sweep
the message also says which grid point (`runs[3] (robust.method=adv): …`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from backend.errors import Invalid
from worker.training.config import RunConfig, format_validation_error
from worker.training.paths import PathRefused, Roots

MAX_SWEEP_RUNS = 1000
MAX_GRID_FIELDS = 20


class ConfigError(Invalid):
    """An invalid run config or sweep; the message names the field."""


def _fill_defaults(data: dict[str, Any], data_dir: str | None) -> dict[str, Any]:
    """`data: {source: local}` without a dir uses the server's XLT_DATA_DIR."""
    section = data.get("data")
    if data_dir and isinstance(section, dict) and section.get("source") == "local" and not section.get("dir"):
        data = {**data, "data": {**section, "dir": data_dir}}
    return data


def validate_config(data: Any, data_dir: str | None = None) -> RunConfig:
    if not isinstance(data, dict):
        raise ConfigError("config: must be a JSON object")
    try:
        return RunConfig.model_validate(_fill_defaults(data, data_dir))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc


def check_paths(config: RunConfig, roots: Roots) -> None:
    """Local data (data.dir), the synonym table (robust.synonyms_path) and a local model folder only
    under the operator's roots, and a model that is not a folder must look like a hub id; ConfigError
    naming the field otherwise. The worker checks again before it reads (worker.training.paths)."""
    try:
        if config.data.dir is not None:  # also with data from the hub: the rs_da table's default folder
            roots.data_path(config.data.dir, "data.dir")
        if config.robust.synonyms_path is not None:
            roots.data_path(config.robust.synonyms_path, "robust.synonyms_path")
        roots.model_source(config.model, "model")
    except PathRefused as exc:
        raise ConfigError(str(exc)) from None


def set_dotted(config: dict[str, Any], path: str, value: Any) -> None:
    """config['a']['b'] = value for path 'a.b', creating (or replacing null with) dicts on the way."""
    keys = path.split(".")
    node = config
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = copy.deepcopy(value)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'train': {'seed': 1}} → {'train.seed': 1}: the dotted paths that set_dotted and grids use."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def expand_grid(
    base: dict[str, Any], grid: dict[str, list[Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every combination of the grid (first key varies slowest): (config, {path: value}) pairs.

    The number of combinations is checked before any is built (a grid of 30 fields of 2 values
    would be a billion configs)."""
    if len(grid) > MAX_GRID_FIELDS:
        raise ConfigError(f"grid: at most {MAX_GRID_FIELDS} fields")
    for path, values in grid.items():
        if len(path) > 100:
            raise ConfigError(f"grid: '{path[:100]}…' is not a dotted config field")
        if not path or any(not part for part in path.split(".")):
            raise ConfigError(f"grid: '{path}' is not a dotted config field")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{path}: must be a non-empty list of values")
    total = 1
    for values in grid.values():
        total *= len(values)
    if total > MAX_SWEEP_RUNS:
        raise ConfigError(f"grid: {total} runs is more than the {MAX_SWEEP_RUNS} a sweep may have")
    out = []
    for combo in itertools.product(*grid.values()):
        point = dict(zip(grid.keys(), combo, strict=True))
        config = copy.deepcopy(base)
        for path, value in point.items():
            set_dotted(config, path, value)
        out.append((config, point))
    return out


def validate_sweep(base: Any, grid: Any, data_dir: str | None = None) -> list[RunConfig]:
    if not isinstance(base, dict):
        raise ConfigError("base: must be a JSON object (a run config)")
    if not isinstance(grid, dict):
        raise ConfigError("grid: must be an object of dotted field → list of values")
    configs = []
    for i, (config, point) in enumerate(expand_grid(base, grid)):
        try:
            configs.append(validate_config(config, data_dir))
        except ConfigError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise ConfigError(f"runs[{i}] ({where}): {exc}") from exc
    return configs
