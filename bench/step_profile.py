"""Time, and optionally profile, fixed-shape MiniLM training steps under the trainer's speed-ups.

Why: epoch figures (bench/train_throughput.py) mix widths and warm-up; a fixed batch shape shows
where one step's time goes, which is what a speed change has to move.

    .venv/bin/python -m bench.step_profile fp32|bf16 [--width 40] [--steps 15] [--profile]

Prints the minimum and median step time, and with --profile torch's operator table over 10 steps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from bench.train_throughput import BATCH, minilm_path
from worker.training import speedups
from worker.training.model import load_classifier
from worker.training.optimizer import clipped_step, make_optimizer
from worker.training.precision import Runtime
from worker.training.trainer import task_loss

WARMUP_STEPS = 5
PROFILED_STEPS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("precision", choices=["fp32", "bf16"])
    parser.add_argument("--width", type=int, default=40, help="tokens per pair (MultiNLI's mean is 40)")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    runtime = Runtime(torch.device("cpu"), args.precision)
    model = load_classifier(minilm_path(), 3, seed=0)
    optimizer = make_optimizer(model, 1e-4, 0.01)
    params = [p for p in model.parameters() if p.requires_grad]
    input_ids = torch.randint(1000, 20000, (BATCH, args.width))
    attention_mask = torch.ones_like(input_ids)
    labels = torch.randint(0, 3, (BATCH,))
    model.train()

    def step() -> None:
        with runtime.autocast():
            logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
            loss = task_loss(logits, labels, regression=False)
        loss.backward()
        clipped_step(optimizer, params, 1.0, None)
        optimizer.zero_grad(set_to_none=True)

    with speedups.training(model, runtime):
        for _ in range(WARMUP_STEPS):
            step()
        seconds = []
        for _ in range(args.steps):
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
        print(
            f"{args.precision} {BATCH} x {args.width}: min {min(seconds) * 1e3:.0f} ms, "
            f"median {statistics.median(seconds) * 1e3:.0f} ms over {args.steps} steps"
        )
        if args.profile:
            with profile(activities=[ProfilerActivity.CPU]) as profiler:
                for _ in range(PROFILED_STEPS):
                    step()
            print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))


if __name__ == "__main__":
    main()
