#!/usr/bin/env bash
# Set up (if needed) and run XLT Lab in the embedded mode: SQLite + local worker on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XLT_DATA_DIR=${XLT_DATA_DIR:-$(cd .. && pwd)/shared/data}
exec .venv/bin/xlt serve "$@"
