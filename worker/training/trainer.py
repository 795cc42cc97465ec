"""One fine-tuning stage: AdamW with linear warm-up/decay, accumulation, clipping, robust methods,
periodic source-dev model selection, reporter hooks, cooperative cancel and checkpoints.

Why this shape: the same loop runs STS-B stage 1 (regression) and the task stage (classification);
the robust methods only change how the loss of a batch is computed (`batch_loss`). It reads
top-down like nanoGPT's train.py: build the schedule, then loop over steps.
Per-step host syncs are avoided on GPUs: the loss is accumulated on the device and read once per
logging window; `history` holds one point per window (at most MAX_HISTORY_POINTS), while the
reporter's `on_step` gets every step with the running mean loss of the current window. The best
model state is kept in memory. A `Checkpointer` (checkpoints.py) gets the whole stage state
(`StageState`) at epoch ends and whenever it asks, and a stage given such a state goes on from it
as if it had never stopped: the epoch's batch order is drawn again from the order generator's state
at the epoch start, and the batches already done are skipped. Hardware speed-ups are installed
around the loop once (`speedups.training`) and are invisible inside it; without them it trains the
same way, slower.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from worker.training import speedups
from worker.training.batching import Encoded, collate, length_grouped_batches
from worker.training.checkpoints import StageState, capture_rng, restore_rng
from worker.training.config import RobustConfig
from worker.training.optimizer import clipped_step, linear_schedule, make_optimizer
from worker.training.perturbations import embedding_noise, pgd_delta
from worker.training.precision import Runtime
from worker.training.reporter import Reporter, RunCancelled
from worker.training.results import HistoryPoint

Stage = Literal["intermediate", "task"]
MAX_HISTORY_POINTS = 500  # history is logged every max(1, total_steps // 500) steps


@dataclass(frozen=True)
class StageSpec:
    stage: Stage
    epochs: float
    learning_rate: float
    batch_size: int
    grad_accum: int
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float
    regression: bool
    seed: int
    eval_steps: int | None = None  # None: once per epoch (only used when an evaluator is given)


@dataclass
class StageOutcome:
    steps: int
    history: list[HistoryPoint] = field(default_factory=list)
    best_step: int | None = None
    best_metric: float | None = None


@dataclass(frozen=True)
class Progress:
    """Where this stage sits in the whole run, for the reporter's 0–1 progress."""

    done_before: int
    run_total: int


class Checkpointer(Protocol):
    """Who keeps the stage's state (checkpoints.StageWriter): asked at every optimiser step."""

    def due(self, epoch_end: bool) -> bool:
        """Whether a checkpoint should be written now (always at an epoch end)."""

    def save(self, state: StageState) -> None:
        """Keep `state`; must not keep references to its tensors past the call."""


def steps_per_epoch(n_examples: int, spec: StageSpec) -> int:
    return max(1, math.ceil(math.ceil(n_examples / spec.batch_size) / spec.grad_accum))


def total_steps(n_examples: int, spec: StageSpec) -> int:
    return max(1, math.ceil(spec.epochs * steps_per_epoch(n_examples, spec)))


def train_stage(
    model: nn.Module,
    data: Encoded,
    spec: StageSpec,
    runtime: Runtime,
    robust: RobustConfig,
    pad_id: int,
    reporter: Reporter,
    progress: Progress,
    evaluate: Callable[[nn.Module], float] | None = None,
    checkpointer: Checkpointer | None = None,
    resume: StageState | None = None,
) -> StageOutcome:
    """Train `model` in place; with `evaluate` (source dev metric, higher is better) the best
    state seen at evaluation points is loaded back at the end. With `resume` (a state this stage
    handed to a checkpointer, same data and spec) it goes on from there: the same steps, batches and
    random draws follow as in a run that never stopped."""
    n_steps = total_steps(len(data), spec)
    per_epoch = steps_per_epoch(len(data), spec)
    eval_every = spec.eval_steps or per_epoch
    log_every = max(1, n_steps // MAX_HISTORY_POINTS)
    warmup = int(spec.warmup_ratio * n_steps)

    optimizer = make_optimizer(model, spec.learning_rate, spec.weight_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: linear_schedule(s, warmup, n_steps))
    scaler = torch.amp.GradScaler("cuda") if runtime.precision == "fp16" else None
    noise_gen = torch.Generator(device=runtime.device).manual_seed(spec.seed + 1)
    order_rng = random.Random(spec.seed)

    outcome = StageOutcome(steps=n_steps)
    best_state: dict[str, torch.Tensor] | None = None
    window_loss = torch.zeros((), device=runtime.device)
    sync_lazily = runtime.device.type != "cpu"  # a host read is free on CPU, a pipeline stall on GPU
    window_n = 0
    last_loss = float("nan")
    step = 0
    skip = 0  # batches of the first epoch's order already done (resume)
    if resume is not None:
        model.load_state_dict(resume.model)
        optimizer.load_state_dict(resume.optimizer)
        schedule.load_state_dict(resume.scheduler)
        if scaler is not None and resume.scaler is not None:
            scaler.load_state_dict(resume.scaler)
        restore_rng(resume.rng, noise_gen)
        order_rng.setstate(resume.order_rng_at_epoch_start)
        step, skip = resume.step, resume.batches_done
        window_loss.copy_(resume.window_loss)
        window_n, last_loss = resume.window_n, resume.last_loss
        outcome.history = list(resume.history)
        outcome.best_step, outcome.best_metric = resume.best_step, resume.best_metric
        best_state = resume.best_model
    micro = step * spec.grad_accum  # a step boundary: no gradient pending
    reporter.on_stage(spec.stage, n_steps)
    model.train()
    with speedups.training(model, runtime):  # nothing but speed: see worker/training/speedups
        while step < n_steps:
            epoch_start = order_rng.getstate()
            batches = length_grouped_batches(data.lengths, spec.batch_size, order_rng)
            for done, indices in enumerate(batches[skip:], start=skip + 1):
                batch = collate(data, indices, pad_id, spec.regression, runtime.device, runtime.pad_multiple)
                with runtime.autocast():
                    loss = batch_loss(model, batch, spec.regression, robust, noise_gen)
                scaled = loss / spec.grad_accum
                (scaler.scale(scaled) if scaler else scaled).backward()
                window_loss += loss.detach()
                window_n += 1
                micro += 1
                if micro % spec.grad_accum:
                    continue
                # --- one optimiser step
                clipped_step(optimizer, params, spec.max_grad_norm, scaler)
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1

                epoch = step / per_epoch
                lr = float(schedule.get_last_lr()[0])
                window_end = step % log_every == 0 or step == n_steps
                if window_end or step == 1 or not sync_lazily:
                    # running mean of the current logging window; on CUDA only read at window ends
                    last_loss = (window_loss / window_n).item()
                if window_end:
                    window_loss.zero_()
                    window_n = 0
                    outcome.history.append(
                        HistoryPoint(stage=spec.stage, step=step, epoch=epoch, loss=last_loss, lr=lr)
                    )
                point = HistoryPoint(stage=spec.stage, step=step, epoch=epoch, loss=last_loss, lr=lr)
                reporter.on_step(point, (progress.done_before + step) / progress.run_total)

                if evaluate is not None and (step % eval_every == 0 or step == n_steps):
                    metric = evaluate(model)
                    model.train()
                    reporter.on_evaluation(spec.stage, step, {"source_dev_accuracy": metric})
                    if outcome.best_metric is None or metric > outcome.best_metric:
                        outcome.best_metric, outcome.best_step = metric, step
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if checkpointer is not None and checkpointer.due(step % per_epoch == 0 or step == n_steps):
                    checkpointer.save(
                        StageState(
                            step=step,
                            order_rng_at_epoch_start=epoch_start,
                            batches_done=done,
                            model=model.state_dict(),
                            optimizer=optimizer.state_dict(),
                            scheduler=schedule.state_dict(),
                            scaler=scaler.state_dict() if scaler else None,
                            rng=capture_rng(noise_gen),
                            window_loss=window_loss,
                            window_n=window_n,
                            last_loss=last_loss,
                            history=outcome.history,
                            best_step=outcome.best_step,
                            best_metric=outcome.best_metric,
                            best_model=best_state,
                        )
                    )
                if reporter.should_stop():
                    raise RunCancelled(f"cancelled at {spec.stage} step {step}")
                if step >= n_steps:
                    break
            skip = 0
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return outcome


def batch_loss(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    regression: bool,
    robust: RobustConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """Training loss of one batch under the robust method (rs_da needs nothing here: its data is
    already augmented). rs_rp and adv perturb the input word embeddings (batch, seq, hidden)."""
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    if robust.method in ("none", "rs_da"):
        return task_loss(model(**inputs).logits, labels, regression)

    input_ids = inputs.pop("input_ids")
    mask = inputs["attention_mask"]
    embed_layer = model.get_input_embeddings()  # type: ignore[operator]
    embeds = embed_layer(input_ids)  # (batch, seq, hidden)

    def loss_at(perturbed: torch.Tensor) -> torch.Tensor:
        return task_loss(model(inputs_embeds=perturbed, **inputs).logits, labels, regression)

    if robust.method == "rs_rp":
        return loss_at(embeds + embedding_noise(embeds, mask, robust.noise, robust.sigma, generator))
    delta = pgd_delta(
        loss_at, embeds, mask, robust.steps, robust.step_size, robust.epsilon, robust.norm, generator
    )
    adversarial = loss_at(embeds + delta)
    if robust.adv_objective == "clean+adv":  # Goodfellow et al.'s mix at alpha 0.5: same scale as one loss
        return 0.5 * (loss_at(embeds) + adversarial)
    return adversarial


def task_loss(logits: torch.Tensor, labels: torch.Tensor, regression: bool) -> torch.Tensor:
    logits = logits.float()
    if regression:
        return F.mse_loss(logits.squeeze(-1), labels)
    return F.cross_entropy(logits, labels)
