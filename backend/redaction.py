"""What a shared view (`/s/{token}`, its charts and its exports) shows of a run or a comparison:
the results and the settings that matter, never a traceback or error details, a filesystem path,
the worker host, the environment, the owner or the notes.

One owner for the rule: backend.services.share_links passes every shared run and comparison through
here. Local models, data folders and synonym tables show as their folder or file name only (a hub id
shows as it is). Error messages can carry anything (paths, hosts, a database URL), so a shared failed
run says only which kind of error it was.
"""

from __future__ import annotations

import copy
from typing import Any

from backend.schemas import CompareGroup, CompareResult, RunOut
from worker.training.paths import is_local_model, model_label

PRIVATE_SUMMARY = ("environment",)  # platform, versions, device, threads: the worker's machine


def folder_name(path: str) -> str:
    return model_label(path) if is_local_model(path) else path


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    if isinstance(out.get("model"), str):
        out["model"] = model_label(out["model"])
    for section, key in (("data", "dir"), ("robust", "synonyms_path")):
        part = out.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), str):
            part[key] = folder_name(part[key])
    return out


def public_error(message: str | None) -> str | None:
    """'DataFileMissing: data file not found: /data/…' → 'The run failed (DataFileMissing).'"""
    if not message:
        return message
    kind = message.split(":", 1)[0].strip()
    named = f" ({kind})" if kind.isidentifier() else ""
    return f"The run failed{named}; its details are shown to the lab's members only."


def public_run(run: RunOut) -> RunOut:
    summary = {k: v for k, v in (run.summary or {}).items() if k not in PRIVATE_SUMMARY}
    return run.model_copy(
        update={
            "model": model_label(run.model),
            "config": public_config(run.config),
            "error_message": public_error(run.error_message),
            "traceback": None,
            "worker_host": None,
            "task_id": None,
            "dispatch_error": None,
            "owner_id": None,
            "owner": None,
            "notes": "",
            "summary": summary if run.summary is not None else None,
        }
    )


def _paths_in(config: dict[str, Any]) -> set[str]:
    found = set()
    if isinstance(config.get("model"), str) and is_local_model(config["model"]):
        found.add(config["model"])
    for section, key in (("data", "dir"), ("robust", "synonyms_path")):
        value = (config.get(section) or {}).get(key)
        if isinstance(value, str) and is_local_model(value):
            found.add(value)
    return found


def public_comparison(result: CompareResult) -> CompareResult:
    """Group keys (labels such as 'xnli · /srv/models/x · baseline') and group configs without paths;
    two groups whose keys would read alike keep apart with a number."""
    paths = sorted({p for g in result.groups for p in _paths_in(g.config)}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for path in paths:
            text = text.replace(path, folder_name(path))
        return text

    keys: dict[str, str] = {}
    for group in result.groups:
        key, n = scrub(group.key), 2
        while key in keys.values():
            key, n = f"{scrub(group.key)} #{n}", n + 1
        keys[group.key] = key
    return result.model_copy(
        update={
            "baseline": keys.get(result.baseline or ""),
            "groups": [
                CompareGroup(
                    key=keys[g.key], run_ids=g.run_ids, seeds=g.seeds, config=public_config(g.config)
                )
                for g in result.groups
            ],
            "cells": [c.model_copy(update={"group": keys.get(c.group, c.group)}) for c in result.cells],
            "tier_averages": {keys.get(k, k): v for k, v in result.tier_averages.items()},
            "average": {keys.get(k, k): v for k, v in result.average.items()},
        }
    )
