#!/usr/bin/env bash
# Set up (if needed), check the import contracts (pyproject.toml [tool.importlinter]; a breach fails
# here, before any test), and run the whole test suite: training, backend, real Celery workers on
# PostgreSQL/Redis and on SQLite, and Chromium browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi
bash scripts/services.sh
.venv/bin/lint-imports
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
