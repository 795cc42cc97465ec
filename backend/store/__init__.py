"""The store: the only code that writes SQL. Every function opens its own transaction and returns
plain pydantic objects (backend.schemas), never ORM rows.

Run lifecycle: create_run/create_sweep (queued) → claim_run (running, attempt n) → record_progress
(batched loss points, progress, heartbeat; returns the cancel flag) → complete_run | fail_run |
mark_cancelled, every write after the claim fenced on attempt n (LostOwnership otherwise). A
dispatcher sends queued runs (dispatch_plan, take_for_dispatch, mark_sent, release_dispatch) and
puts runs whose worker stopped beating back in the queue (reap_stale_runs).

    runs.py         create and read runs/experiments, list with filters, scores, history, tags, notes
    lifecycle.py    the worker's side: claim, fenced progress and outcome; cancel; imports
    dispatch.py     the queue of record: queued runs to send, stale runs to re-queue or fail
    studies.py      a study's runs, scores and bitsets, one query each
    share_links.py  read-only share links
    users.py        accounts and API tokens (imported as `backend.store.users`)
    mlflow_runs.py  runs logged through MLflow's API: what scripts sent, verbatim, and the XLT view
                    derived from it (imported as `backend.store.mlflow_runs`)
    series.py       metric series (loss, lr, MLflow stepped metrics) as packed chunks
    common.py       column sets, row → pydantic, driver-level batch inserts
"""

from backend.store.dispatch import (
    DispatchPlan,
    Reaped,
    dispatch_plan,
    finished_run_ids,
    mark_sent,
    reap_stale_runs,
    release_dispatch,
    take_for_dispatch,
)
from backend.store.lifecycle import (
    Claim,
    LostOwnership,
    claim_run,
    complete_run,
    fail_run,
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
    run_ids_matching,
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
from backend.store.studies import StudyInputs, StudyRunRow, StudyState, study_inputs, study_runs, study_state

__all__ = [
    "Claim",
    "CompareRun",
    "DispatchPlan",
    "LostOwnership",
    "Reaped",
    "StudyInputs",
    "StudyRunRow",
    "StudyState",
    "claim_run",
    "compare_inputs",
    "complete_run",
    "create_run",
    "create_share_link",
    "create_sweep",
    "fail_run",
    "finished_run_ids",
    "dispatch_plan",
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
    "reap_stale_runs",
    "record_progress",
    "mark_sent",
    "release_dispatch",
    "request_cancel",
    "revoke_share_link",
    "run_exists",
    "run_ids_matching",
    "run_ids_of_experiment",
    "set_notes",
    "set_tags",
    "study_inputs",
    "study_runs",
    "study_state",
    "take_for_dispatch",
]
