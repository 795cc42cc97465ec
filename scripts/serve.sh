#!/usr/bin/env bash
# Set up (if needed) and run XLT Lab in the embedded mode: SQLite + local worker on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The small offline datasets beside the checkout, when this machine has them; without them the launch
# form defaults to Hugging Face datasets (and flags a local data folder that does not exist).
if [ -z "${XLT_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  XLT_DATA_DIR=$(cd ../shared/data && pwd)
  export XLT_DATA_DIR
fi
exec .venv/bin/xlt serve "$@"
