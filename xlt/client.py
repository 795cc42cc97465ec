"""`xlt submit CONFIG`: post a run config (or a sweep) to a running XLT Lab and print the new id(s).

The other client verbs live in xlt/client_verbs.py; both find the server and token the same way
(xlt/client_connection.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from xlt.client_connection import Api, ClientError, resolve_connection


def load_file(path: str) -> Any:
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


def submit_command(
    path: str,
    url: str | None = None,
    sweep: bool = False,
    tags: list[str] | None = None,
    token: str | None = None,
) -> int:
    """Exit status 0 submitted, 1 refused or unreachable, 2 an unreadable or invalid config."""
    try:
        body = load_file(path)
    except (OSError, ValueError) as exc:
        print(f"xlt submit: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        api = Api(resolve_connection(url, token))
    except ClientError as exc:
        print(f"xlt submit: {exc.message}", file=sys.stderr)
        return exc.exit_code
    try:
        created = api.post("/api/sweeps", body) if sweep else api.post("/api/runs", body, tag=tags or None)
    except ClientError as exc:
        print(f"xlt submit: {exc.message}", file=sys.stderr)
        return exc.exit_code
    finally:
        api.close()
    if sweep:
        print(f"experiment {created['experiment_id']}: runs {', '.join(map(str, created['run_ids']))}")
        print(f"{api.server}/experiments/{created['experiment_id']}")
    else:
        print(f"run {created['id']} queued on {created['queue']}: {api.server}/runs/{created['id']}")
    if created.get("message"):
        print(created["message"], file=sys.stderr)
    return 0
