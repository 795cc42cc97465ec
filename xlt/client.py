"""Client verbs over the JSON API. `xlt submit CONFIG`: post a run config (or a sweep) to a running
XLT Lab and print the new id(s)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

from backend.settings import get_settings


def load_file(path: str) -> Any:
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


def submit_command(
    path: str, url: str | None = None, sweep: bool = False, tags: list[str] | None = None
) -> int:
    settings = get_settings()
    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        body = load_file(path)
    except (OSError, ValueError) as exc:
        print(f"xlt submit: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        if sweep:
            response = httpx.post(f"{base}/api/sweeps", json=body, timeout=30)
        else:
            response = httpx.post(f"{base}/api/runs", json=body, params={"tag": tags or []}, timeout=30)
    except httpx.HTTPError as exc:
        print(f"xlt submit: cannot reach {base}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 201:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        print(f"xlt submit: {response.status_code} {message}", file=sys.stderr)
        return 2 if response.status_code == 422 else 1
    created = response.json()
    if sweep:
        print(f"experiment {created['experiment_id']}: runs {', '.join(map(str, created['run_ids']))}")
        print(f"{base}/experiments/{created['experiment_id']}")
    else:
        print(f"run {created['id']} queued on {created['queue']}: {base}/runs/{created['id']}")
    return 0
