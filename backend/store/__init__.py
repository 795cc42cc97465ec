"""The store: the only code that writes SQL. Every function opens its own transaction and returns
plain pydantic objects (backend.schemas), never ORM rows.

Run lifecycle: create_run/create_sweep (queued) → claim_run (running) → record_progress (batched
loss points, progress, heartbeat; returns the cancel flag) → complete_run | fail_run | mark_cancelled.

    runs.py         create and read runs/experiments, list with filters, scores, history, tags, notes
    lifecycle.py    the worker's side: claim, progress, outcome; cancel; stale runs; imports
    share_links.py  read-only share links
    users.py        accounts and API tokens (imported as `backend.store.users`)
    common.py       column sets, row → pydantic, driver-level batch inserts
"""

from backend.store.lifecycle import (
    claim_run,
    complete_run,
    fail_run,
    fail_stale_runs,
    import_result,
    is_cancel_requested,
    mark_cancelled,
    record_progress,
    request_cancel,
)
from backend.store.runs import (
    CompareRun,
    compare_inputs,
    create_run,
    create_sweep,
    get_experiment,
    get_history,
    get_run,
    get_runs,
    get_scores,
    list_experiments,
    list_runs,
    list_tags,
    ping,
    run_exists,
    run_ids_of_experiment,
    set_notes,
    set_tags,
)
from backend.store.share_links import (
    create_share_link,
    get_share_link,
    get_share_link_owner,
    list_share_links,
    revoke_share_link,
)

__all__ = [
    "CompareRun",
    "claim_run",
    "compare_inputs",
    "complete_run",
    "create_run",
    "create_share_link",
    "create_sweep",
    "fail_run",
    "fail_stale_runs",
    "get_experiment",
    "get_history",
    "get_run",
    "get_runs",
    "get_scores",
    "get_share_link",
    "get_share_link_owner",
    "import_result",
    "is_cancel_requested",
    "list_experiments",
    "list_runs",
    "list_share_links",
    "list_tags",
    "mark_cancelled",
    "ping",
    "record_progress",
    "request_cancel",
    "revoke_share_link",
    "run_exists",
    "run_ids_of_experiment",
    "set_notes",
    "set_tags",
]
