"""`xlt train CONFIG --out DIR`: one run from a JSON/YAML file, with a console progress bar.

Why a separate module: the CLI concerns (reading the file, one-line errors and exit codes, the
progress bar, writing results.json atomically, the closing table) stay out of `run()`, which the
Celery worker calls unchanged. Exit codes: 0 success, 1 run failure (data, model, cancel),
2 bad config. results.json is written to a temp file in DIR and renamed into place, so DIR never
holds a half-written results.json. With `--checkpoint-dir DIR` the run keeps checkpoints in DIR and
the same command run again (after Ctrl-C, a crash, a lost machine) goes on from the last one;
DIR's checkpoints are removed once results.json is written.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from worker.training.config import RunConfig, format_validation_error
from worker.training.results import HistoryPoint, RunResult, Score


class ConfigError(Exception):
    """The config file cannot be read or does not validate."""


def read_config(path: Path) -> RunConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw: Any = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise ConfigError(f"config {path} is not valid {kind}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping of fields")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


class ProgressBarReporter:
    """tqdm bar over the whole run's optimiser steps, with stage, loss and lr in the postfix."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=1000, unit="‰", dynamic_ncols=True, file=sys.stderr)
        self._stage = ""

    def on_stage(self, stage: str, total_steps: int) -> None:
        self._stage = stage
        self._bar.set_description(f"{stage} ({total_steps} steps)")

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        self._bar.n = int(progress * 1000)
        self._bar.set_postfix(step=point.step, loss=f"{point.loss:.4f}", lr=f"{point.lr:.2e}", refresh=False)
        self._bar.refresh()

    def on_evaluation(self, stage: str, step: int, metrics: dict[str, float]) -> None:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        self._bar.write(f"[{stage}] step {step}: {shown}")

    def on_scores(self, scores: list[Score]) -> None:
        self._bar.n = 1000
        self._bar.refresh()

    def should_stop(self) -> bool:
        return False

    def close(self) -> None:
        self._bar.close()


def write_results_atomically(result: RunResult, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / "results.json"
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".results.", suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(result.model_dump_json(indent=2))
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def score_table(result: RunResult) -> str:
    lines = [f"{'dataset':<12} {'lang':<5} {'metric':<9} {'value':>7} {'n':>6}"]
    for s in result.scores:
        lines.append(f"{s.dataset:<12} {s.language:<5} {s.metric:<9} {s.value:>7.4f} {s.n:>6}")
    summary = result.summary
    if summary.average is not None:
        lines.append(f"average {summary.average:.4f}")
    tiers = ", ".join(f"{t} {v:.4f}" for t, v in summary.by_resource_tier.items() if v is not None)
    if tiers:
        lines.append(f"by resource tier: {tiers}")
    if summary.transfer_gap is not None:
        lines.append(f"transfer gap {summary.transfer_gap:.4f}")
    lines.append(f"train {result.timings.train_s:.1f}s, eval {result.timings.eval_s:.1f}s")
    return "\n".join(lines)


def train_command(
    config_path: str, out: str, checkpoint_dir: str | None = None, checkpoint_minutes: float = 30
) -> int:
    try:
        config = read_config(Path(config_path))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2

    from tqdm.contrib.logging import logging_redirect_tqdm
    from transformers.utils import logging as hf_logging

    from worker.training.checkpoints import CheckpointPolicy, remove_checkpoints
    from worker.training.data import DataError
    from worker.training.reporter import RunCancelled
    from worker.training.run import run

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    policy = CheckpointPolicy(Path(checkpoint_dir), checkpoint_minutes) if checkpoint_dir else None
    reporter = ProgressBarReporter()
    try:
        with logging_redirect_tqdm():  # warnings on their own line, not glued to the bar
            result = run(config, reporter, policy)
    except RunCancelled as exc:
        reporter.close()
        print(f"cancelled: {exc}", file=sys.stderr)
        return 1
    except (DataError, OSError, ValueError) as exc:
        reporter.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        reporter.close()
        kept = f"; checkpoints kept in {checkpoint_dir}: run the same command to go on" if policy else ""
        print(f"interrupted; nothing written{kept}", file=sys.stderr)
        return 130
    reporter.close()
    path = write_results_atomically(result, Path(out))
    if policy is not None:
        remove_checkpoints(policy.directory)
    print(score_table(result))
    if result.resume is not None:
        print(f"resumed from a checkpoint at {result.resume.stage} step {result.resume.step}")
    print(f"wrote {path}")
    return 0
