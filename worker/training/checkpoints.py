"""Training checkpoints: what a run must keep to continue after its worker is lost, written so that
a half-written or foreign checkpoint can never be mistaken for a good one.

Why: GPU runs take hours; a re-queued attempt should go on from where the last one stopped and end
with the scores an uninterrupted run would have had. So a checkpoint holds everything the loop's
future depends on (`StageState`): the model, AdamW's moments, the LR schedule, the fp16 scaler, every
random generator the loop draws from (the batch order's as it was when the current epoch's order was
drawn, plus how many of those batches are done, so the order is drawn again and the done ones are
skipped), the logging window, the history, and the best dev model with its metric (model selection
survives the interruption). The trainer takes a `StageState` and hands out new ones; this file
writes and reads them and knows nothing about the loop.

Layout of `CheckpointPolicy.directory` (one run's folder; the caller picks it and removes it):
    ckpt-000007/  manifest.json  state.pt  [best.pt]     the newest complete checkpoint
    ckpt-000006/  …                                       the one before (kept: see KEEP)
A checkpoint is written into `.tmp-<random>/`, fsynced and renamed into place, so a folder named
`ckpt-*` is complete. `manifest.json` (small, readable) says the format, a hash of the run config,
what the training data came out as (a fingerprint of each stage's token ids and targets, the rs_da
stats), the stage and step, each file's size and SHA-256, and the runtime it was written under; a
checkpoint whose format, config or data differs, or whose files do not match the manifest, is
skipped with a logged warning (the previous one is tried, then training starts from scratch),
never a crash.
`best.pt` is absent when the best dev model is the current one, and hard-linked from the previous
checkpoint when it has not changed since, so most writes cost model + optimiser only.

Files are read with `torch.load(weights_only=True)`: tensors and plain containers, no pickled code,
so a checkpoint on shared storage cannot run anything when it is read.

What this is not: the resume decisions (which stage, skip stage 1) live in run.py, the loop's use of
the state in trainer.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import torch
import transformers

from worker.training.batching import Encoded
from worker.training.config import RunConfig
from worker.training.results import HistoryPoint, IntermediateResult

log = logging.getLogger(__name__)

Stage = Literal["intermediate", "task"]
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
STATE_FILE = "state.pt"
BEST_FILE = "best.pt"
PREFIX = "ckpt-"
TMP_PREFIX = ".tmp-"
INTERMEDIATE_FILE = "intermediate.json"  # the STS-B stage's dev correlations, for a resume past it
KEEP = 2  # the newest complete checkpoint and the one before, in case the newest turns out unreadable
ADOPTED_ON_RESUME = frozenset({"cpu_fp32_linear"})  # run.py resumes with the recorded kernels


@dataclass(frozen=True)
class CheckpointPolicy:
    """Where one run keeps its checkpoints and how often it writes them: at every epoch end (and
    stage end) and whenever `every_minutes` have passed since the last one, checked at optimiser
    steps (0: at every step)."""

    directory: Path  # this run's checkpoint folder (the caller picks e.g. XLT_CHECKPOINT_DIR/run-<id>)
    every_minutes: float = 30  # also at least at the end of every epoch


@dataclass
class StageState:
    """A training stage at an optimiser-step boundary (no gradient pending): everything needed to go on
    as if it had never stopped. Tensors may live on any device; read-back ones are on the CPU."""

    step: int  # optimiser steps done in this stage
    order_rng_at_epoch_start: tuple[Any, ...]  # random.Random state before this epoch's batch order
    batches_done: int  # batches of this epoch's order already trained on (then skipped on resume)
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] | None
    rng: dict[str, Any]  # capture_rng(): python, numpy, torch CPU/CUDA, the noise generator
    window_loss: torch.Tensor  # () sum of the losses of the current logging window
    window_n: int
    last_loss: float
    history: list[HistoryPoint] = field(default_factory=list)
    best_step: int | None = None
    best_metric: float | None = None
    best_model: dict[str, torch.Tensor] | None = None


@dataclass
class Checkpoint:
    """A checkpoint read back: the stage it was taken in, that stage's state, and the run around it."""

    path: Path
    stage: Stage
    state: StageState
    earlier_history: list[HistoryPoint]  # the history of the stages before `stage`
    train_s: float  # training seconds spent up to the checkpoint, over all attempts
    runtime: dict[str, Any]


class CheckpointUnusable(Exception):
    """A checkpoint that must be skipped; the message says why."""


# ---------------------------------------------------------------------------------------------
# random generators


def capture_rng(noise: torch.Generator) -> dict[str, Any]:
    """Every generator a training step can draw from: Python's and NumPy's global ones, torch's CPU
    generator (stock dropout and the speed-ups' cheap dropout both draw from it), CUDA's when in
    use, and the stage's noise generator (rs_rp, adv)."""
    numpy_state = np.random.get_state(legacy=False)
    rng: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "key": numpy_state["state"]["key"].tolist(),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "noise": noise.get_state(),
        "noise_device": noise.device.type,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def restore_rng(rng: dict[str, Any], noise: torch.Generator) -> None:
    random.setstate(rng["python"])
    n = rng["numpy"]
    np.random.set_state(
        ("MT19937", np.array(n["key"], dtype=np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    torch.set_rng_state(rng["torch"])
    if rng["noise_device"] == noise.device.type:
        noise.set_state(rng["noise"])
    else:
        log.warning(
            "checkpoint's noise generator was on %s, this run's is on %s: drawn afresh",
            rng["noise_device"],
            noise.device.type,
        )
    if "cuda" in rng:
        if torch.cuda.is_available() and len(rng["cuda"]) <= torch.cuda.device_count():
            torch.cuda.set_rng_state_all(rng["cuda"])
        else:
            log.warning("checkpoint holds CUDA generator states this machine cannot restore")


def python_rng_state(state: Any) -> tuple[Any, ...]:
    """`random.Random.getstate()` as read back (lists where tuples were) → the tuple setstate wants."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


# ---------------------------------------------------------------------------------------------
# writing and reading


def data_fingerprint(data: Encoded) -> str:
    """SHA-256 over an encoded training set's token ids, lengths and targets: a data file edited or
    re-prepared between two attempts, or another tokenizer, shows up here (about a second for the
    full XNLI training set)."""
    digest = hashlib.sha256()
    lengths = np.fromiter((len(ids) for ids in data.input_ids), dtype=np.int64, count=len(data))
    digest.update(lengths.tobytes())
    ids = np.fromiter((t for row in data.input_ids for t in row), dtype=np.int64, count=int(lengths.sum()))
    digest.update(ids.tobytes())
    digest.update(np.asarray(data.targets, dtype=np.float64).tobytes())
    return digest.hexdigest()


def config_hash(config: RunConfig) -> str:
    """SHA-256 of the run config as JSON, without its display name: a checkpoint resumes only the
    configuration it was written by (seed, data, method, evaluation, everything)."""
    raw = config.model_dump(mode="json")
    raw.pop("name", None)
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()


class RunCheckpoints:
    """The checkpoints of one run: `latest()` finds the newest usable one, `stage()` gives the trainer
    a writer for one stage. Writes happen on the training thread (a checkpoint is a consistent cut)."""

    def __init__(
        self, policy: CheckpointPolicy, config: RunConfig, runtime: dict[str, Any], inputs: dict[str, Any]
    ) -> None:
        """`inputs`: what this run's training data came out as (JSON-able: data fingerprints, rs_da
        stats); a checkpoint recorded with other inputs is not resumed."""
        self.policy = policy
        self.directory = Path(policy.directory)
        self.config_hash = config_hash(config)
        self.runtime = runtime
        self.inputs = json.loads(json.dumps(inputs))  # as it reads back from a manifest
        self._last_write = time.monotonic()
        self._best_file: tuple[tuple[str, int | None], Path, dict[str, Any]] | None = None

    # -- the intermediate stage's own result (STS-B dev correlations), kept for a resume past stage 1
    def save_intermediate(self, result: IntermediateResult) -> None:
        """Written once stage 1 is evaluated, beside the checkpoints (atomically); a failure to
        write costs the resumed run these figures, never the run."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{INTERMEDIATE_FILE}.{uuid.uuid4().hex}.tmp"
            document = {"config_hash": self.config_hash, "result": result.model_dump(mode="json")}
            tmp.write_text(json.dumps(document))
            os.replace(tmp, self.directory / INTERMEDIATE_FILE)
        except OSError as exc:
            log.warning("could not keep the intermediate stage's result with the checkpoints: %s", exc)

    def saved_intermediate(self) -> IntermediateResult | None:
        """The intermediate stage's result an earlier attempt of this config kept, or None."""
        path = self.directory / INTERMEDIATE_FILE
        try:
            document = json.loads(path.read_text())
            if document.get("config_hash") != self.config_hash:
                return None
            return IntermediateResult.model_validate(document["result"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            return None

    # -- reading
    def latest(self) -> Checkpoint | None:
        """The newest checkpoint that reads back whole and belongs to this config, or None."""
        for path in reversed(complete_checkpoints(self.directory)):
            try:
                checkpoint = self.read(path)
            except CheckpointUnusable as exc:
                log.warning("ignoring checkpoint %s: %s", path, exc)
                continue
            differs = {
                k: (v, self.runtime.get(k))
                for k, v in checkpoint.runtime.items()
                if self.runtime.get(k) != v and k not in ADOPTED_ON_RESUME
            }
            if differs:
                log.warning(
                    "resuming %s written under another runtime (%s): training goes on, but the scores "
                    "will not be bit-identical to an uninterrupted run",
                    path,
                    ", ".join(f"{k}: {a} → {b}" for k, (a, b) in differs.items()),
                )
            return checkpoint
        return None

    def read(self, path: Path) -> Checkpoint:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointUnusable(f"manifest unreadable ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
            raise CheckpointUnusable(
                f"format {manifest.get('format') if isinstance(manifest, dict) else '?'}, "
                f"this version reads {FORMAT_VERSION}"
            )
        if manifest.get("config_hash") != self.config_hash:
            raise CheckpointUnusable("written by another run configuration")
        if manifest.get("inputs") != self.inputs:
            raise CheckpointUnusable("its training data (or rs_da copies) differ from this run's")
        try:
            payload = load_verified(path, STATE_FILE, manifest["files"][STATE_FILE])
            best = None
            if BEST_FILE in manifest["files"]:
                best = load_verified(path, BEST_FILE, manifest["files"][BEST_FILE])
            state = state_from_payload(payload, best)
            return Checkpoint(
                path=path,
                stage=manifest["stage"],
                state=state,
                earlier_history=[HistoryPoint.model_validate(h) for h in payload["earlier_history"]],
                train_s=float(manifest["train_s"]),
                runtime=dict(manifest.get("runtime") or {}),
            )
        except CheckpointUnusable:
            raise
        except Exception as exc:  # a manifest or payload of the right format but the wrong shape
            raise CheckpointUnusable(f"unreadable ({type(exc).__name__}: {exc})") from None

    # -- writing
    def due(self, epoch_end: bool) -> bool:
        return epoch_end or time.monotonic() - self._last_write >= self.policy.every_minutes * 60

    def stage(
        self, stage: Stage, earlier_history: list[HistoryPoint], train_s: Callable[[], float]
    ) -> StageWriter:
        return StageWriter(self, stage, list(earlier_history), train_s)

    def write(
        self, stage: Stage, state: StageState, earlier_history: list[HistoryPoint], train_s: float
    ) -> Path | None:
        """Write one checkpoint atomically and drop all but the newest KEEP; returns its folder.
        A failed write (disk full, storage away) is logged and training goes on: the previous
        checkpoint stays valid, and losing a checkpoint must not lose the run."""
        started = time.monotonic()
        try:
            path = self._write(stage, state, earlier_history, train_s)
        except (OSError, RuntimeError) as exc:  # torch.save reports write errors as RuntimeError
            log.warning("checkpoint at %s step %d not written: %s", stage, state.step, exc)
            return None
        finally:
            self._last_write = time.monotonic()
        log.info(
            "checkpoint %s (%s step %d) written in %.2fs",
            path.name,
            stage,
            state.step,
            time.monotonic() - started,
        )
        prune(self.directory, KEEP)
        return path

    def _write(
        self, stage: Stage, state: StageState, earlier_history: list[HistoryPoint], train_s: float
    ) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            files = {STATE_FILE: save_hashed(state_payload(state, earlier_history), tmp / STATE_FILE)}
            best_kind = "none"
            if state.best_model is not None and state.best_step == state.step:
                best_kind = "current"  # the best dev model is the model itself: not stored twice
            elif state.best_model is not None:
                best_kind = "file"
                files[BEST_FILE] = self._write_best(stage, state, tmp / BEST_FILE)
            manifest = {
                "format": FORMAT_VERSION,
                "config_hash": self.config_hash,
                "stage": stage,
                "step": state.step,
                "best_step": state.best_step,
                "best": best_kind,
                "train_s": train_s,
                "inputs": self.inputs,
                "runtime": self.runtime,
                "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": files,
            }
            with (tmp / MANIFEST).open("w", encoding="utf-8") as handle:
                json.dump(manifest, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            sequence = max((sequence_of(p) for p in complete_checkpoints(self.directory)), default=0) + 1
            final = self.directory / f"{PREFIX}{sequence:06d}"
            os.rename(tmp, final)
            fsync_directory(self.directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if best_kind == "file":
            key = (stage, state.best_step)
            self._best_file = (key, final / BEST_FILE, files[BEST_FILE])
        return final

    def _write_best(self, stage: Stage, state: StageState, target: Path) -> dict[str, Any]:
        """best.pt: a hard link to the previous checkpoint's when the best model has not changed."""
        if self._best_file is not None:
            key, previous, info = self._best_file
            if key == (stage, state.best_step) and previous.is_file():
                try:
                    os.link(previous, target)
                    return info
                except OSError:  # no hard links on this storage: write it again
                    pass
        assert state.best_model is not None
        return save_hashed({"model": state.best_model}, target)


@dataclass
class StageWriter:
    """The trainer's view of the checkpoints during one stage (trainer.Checkpointer)."""

    checkpoints: RunCheckpoints
    stage: Stage
    earlier_history: list[HistoryPoint]
    train_s: Callable[[], float]

    def due(self, epoch_end: bool) -> bool:
        return self.checkpoints.due(epoch_end)

    def save(self, state: StageState) -> None:
        self.checkpoints.write(self.stage, state, self.earlier_history, self.train_s())


def state_payload(state: StageState, earlier_history: list[HistoryPoint]) -> dict[str, Any]:
    return {
        "step": state.step,
        "order_rng_at_epoch_start": state.order_rng_at_epoch_start,
        "batches_done": state.batches_done,
        "model": state.model,
        "optimizer": state.optimizer,
        "scheduler": state.scheduler,
        "scaler": state.scaler,
        "rng": state.rng,
        "window_loss": state.window_loss.detach().cpu(),
        "window_n": state.window_n,
        "last_loss": state.last_loss,
        "history": [h.model_dump() for h in state.history],
        "earlier_history": [h.model_dump() for h in earlier_history],
        "best_step": state.best_step,
        "best_metric": state.best_metric,
    }


def state_from_payload(payload: dict[str, Any], best: dict[str, Any] | None) -> StageState:
    model = payload["model"]
    best_model = None
    if best is not None:
        best_model = best["model"]
    elif payload["best_step"] is not None and payload["best_step"] == payload["step"]:
        best_model = {k: v.clone() for k, v in model.items()}
    elif payload["best_step"] is not None:
        raise CheckpointUnusable("best model missing")
    rng = dict(payload["rng"])
    rng["python"] = python_rng_state(rng["python"])
    return StageState(
        step=int(payload["step"]),
        order_rng_at_epoch_start=python_rng_state(payload["order_rng_at_epoch_start"]),
        batches_done=int(payload["batches_done"]),
        model=model,
        optimizer=payload["optimizer"],
        scheduler=payload["scheduler"],
        scaler=payload["scaler"],
        rng=rng,
        window_loss=payload["window_loss"],
        window_n=int(payload["window_n"]),
        last_loss=float(payload["last_loss"]),
        history=[HistoryPoint.model_validate(h) for h in payload["history"]],
        best_step=payload["best_step"],
        best_metric=payload["best_metric"],
        best_model=best_model,
    )


class _HashingWriter:
    """A write-only file object that hashes what passes through, so a file is read once, not twice."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def save_hashed(obj: dict[str, Any], path: Path) -> dict[str, Any]:
    """torch.save to `path`, fsynced; returns the manifest entry {bytes, sha256}."""
    with path.open("wb") as handle:
        writer = _HashingWriter(handle)
        torch.save(obj, writer)  # type: ignore[arg-type]
        handle.flush()
        os.fsync(handle.fileno())
    return {"bytes": writer.size, "sha256": writer.digest.hexdigest()}


def load_verified(folder: Path, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    path = folder / name
    try:
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise CheckpointUnusable(f"{name} has {size} bytes, the manifest says {entry['bytes']}")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise CheckpointUnusable(f"{name} does not match its SHA-256 in the manifest")
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise CheckpointUnusable(f"{name} unreadable ({exc})") from None
    if not isinstance(loaded, dict):
        raise CheckpointUnusable(f"{name} is not a checkpoint payload")
    return loaded


# ---------------------------------------------------------------------------------------------
# the folder


def sequence_of(path: Path) -> int:
    return int(path.name.removeprefix(PREFIX))


def complete_checkpoints(directory: Path) -> list[Path]:
    """`ckpt-*` folders (complete by construction: renamed into place), oldest first."""
    if not directory.is_dir():
        return []
    found = [
        p
        for p in directory.iterdir()
        if p.is_dir() and p.name.startswith(PREFIX) and p.name.removeprefix(PREFIX).isdigit()
    ]
    return sorted(found, key=sequence_of)


def prune(directory: Path, keep: int) -> None:
    """Remove all but the newest `keep` complete checkpoints."""
    for old in complete_checkpoints(directory)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def remove_checkpoints(directory: Path) -> None:
    """Remove a run's checkpoints (complete ones and half-written ones) and the folder once empty.
    Only what this module writes is touched, so a wrong `directory` cannot take other files with it."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if entry.is_dir() and (entry.name.startswith(PREFIX) or entry.name.startswith(TMP_PREFIX)):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and entry.name.startswith(INTERMEDIATE_FILE):
            entry.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # something else lives there: leave it
        directory.rmdir()


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
