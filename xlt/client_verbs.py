"""Client verbs over the JSON API of a running XLT Lab (`xlt submit` lives in xlt/client.py):

    xlt runs [--status S] [--experiment ID] [--tag T] [--method M] [--task T] [--limit N] [--ids|--json]
    xlt show RUN [--json]
    xlt results RUN | --experiment ID [--format table|csv|json|latex]
    xlt cancel RUN          xlt retry RUN
    xlt share RUN | --experiment ID [--expires-days D]     (prints the link)
    xlt wait RUN [--timeout S] [--interval S]

Each takes `--server` and `--token` (see xlt/client_connection.py for XLT_SERVER, XLT_TOKEN and the
config file). Exit status: 0 done, 1 the server refused or could not be reached (one line on stderr
naming the server, the HTTP status and the server's message), 2 a bad argument. `xlt wait` exits with
the run's end: 0 succeeded, 1 failed, 2 cancelled, 3 still running when --timeout passed, 4 it could
not follow the run (unknown run, credentials refused, server unreachable at the start).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from xlt.client_connection import Api, ClientError, resolve_connection
from xlt.client_tables import compare_table, run_lines, runs_table, scores_table

CLIENT_VERBS = ("runs", "show", "results", "cancel", "retry", "share", "wait")
WAIT_EXIT = {"succeeded": 0, "failed": 1, "cancelled": 2}
WAIT_TIMEOUT, WAIT_LOST = 3, 4
FORMATS = ("table", "csv", "json", "latex")


def connection_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--server", default=None, help="XLT Lab address (else XLT_SERVER, the config file)")
    flags.add_argument("--token", default=None, help="API token (else XLT_TOKEN, the config file)")
    return flags


def add_client_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = [connection_flags()]
    runs = verbs.add_parser("runs", parents=common, help="list runs of a running XLT Lab, newest first")
    runs.add_argument(
        "--status",
        action="append",
        default=[],
        help="queued, running, succeeded, failed, cancelled (repeatable)",
    )
    runs.add_argument("--experiment", type=int, default=None, help="only this experiment's runs")
    runs.add_argument("--tag", default=None)
    runs.add_argument("--method", default=None, help="e.g. baseline, rs_rp, stsb+rs_da")
    runs.add_argument("--task", default=None, help="xnli or pawsx")
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    shape = runs.add_mutually_exclusive_group()
    shape.add_argument("--ids", action="store_true", help="only the ids, one a line (for xargs)")
    shape.add_argument("--json", action="store_true", help="the API's JSON")

    show = verbs.add_parser("show", parents=common, help="one run: state, config, scores")
    show.add_argument("run", type=int)
    show.add_argument("--json", action="store_true", help="the run and its scores as JSON")

    results = verbs.add_parser("results", parents=common, help="scores of a run or an experiment")
    target = results.add_mutually_exclusive_group(required=True)
    target.add_argument("run", type=int, nargs="?")
    target.add_argument("--experiment", type=int, default=None, help="its runs, grouped over seeds")
    target.add_argument(
        "--match",
        action="append",
        metavar="FILTERS",
        help="a group of runs named by the runs list's filters, e.g. 'model=xlm-roberta-base&method=stsb' "
        "(repeat for more groups; compared in one request)",
    )
    results.add_argument("--format", choices=FORMATS, default="table")

    for verb, text in (("cancel", "cancel a queued or running run"), ("retry", "a new run, same config")):
        parser = verbs.add_parser(verb, parents=common, help=text)
        parser.add_argument("run", type=int)

    share = verbs.add_parser("share", parents=common, help="a read-only link to a run or an experiment")
    what = share.add_mutually_exclusive_group(required=True)
    what.add_argument("run", type=int, nargs="?")
    what.add_argument("--experiment", type=int, default=None)
    share.add_argument("--expires-days", type=float, default=None, help="default: until revoked")

    wait = verbs.add_parser(
        "wait", parents=common, help="until the run ends; exit 0 succeeded, 1 failed, 2 cancelled, 3 timeout"
    )
    wait.add_argument("run", type=int)
    wait.add_argument("--timeout", type=float, default=None, help="seconds; exit 3 if still active")
    wait.add_argument("--interval", type=float, default=5.0, help="seconds between two polls (default 5)")


# ── verbs ────────────────────────────────────────────────────────────────────────────────────────


def runs_verb(api: Api, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise ClientError("--limit: give 1 or more", 2)
    page = api.get(
        "/api/runs",
        status=args.status or None,
        experiment=args.experiment,
        tag=args.tag,
        method=args.method,
        task=args.task,
        page_size=min(args.limit, 5000),
    )
    items = page["items"]
    if args.json:
        print(json.dumps(page, indent=2, ensure_ascii=False))
    elif args.ids:
        print("\n".join(str(r["id"]) for r in items))
    else:
        print(runs_table(items) if items else "no runs match")
        if page["total"] > len(items):
            print(f"({len(items)} of {page['total']}; --limit for more)")
    return 0


def show_verb(api: Api, args: argparse.Namespace) -> int:
    run = api.get(f"/api/runs/{args.run}")
    scores = api.get(f"/api/runs/{args.run}/scores")
    if args.json:
        print(json.dumps({"run": run, "scores": scores}, indent=2, ensure_ascii=False))
        return 0
    print("\n".join(run_lines(run, api.server)))
    if scores:
        print()
        print(scores_table(scores))
    return 0


def results_verb(api: Api, args: argparse.Namespace) -> int:
    from backend import exports
    from backend.schemas import CompareResult, RunOut, ScoreOut

    fmt = args.format
    if args.experiment is None and not args.match and fmt != "latex":
        run = RunOut.model_validate(api.get(f"/api/runs/{args.run}"))
        scores = [ScoreOut.model_validate(s) for s in api.get(f"/api/runs/{args.run}/scores")]
        if not scores and fmt == "table":
            raise ClientError(f"run {run.id} has no scores yet (it is {run.status})")
        text = {
            "table": lambda: scores_table([s.model_dump() for s in scores]),
            "csv": lambda: exports.run_scores_csv(run, scores),
            "json": lambda: exports.run_scores_json(run, scores),
        }[fmt]()
    else:
        params: dict[str, Any] = (
            {"experiment": args.experiment}
            if args.experiment is not None
            else {"match": args.match}
            if args.match
            else {"runs": str(args.run)}
        )
        result = CompareResult.model_validate(api.get("/api/compare", **params))
        if not result.cells and fmt in ("table", "latex"):
            what = (
                f"experiment {args.experiment}"
                if args.experiment is not None
                else "the matched runs"
                if args.match
                else f"run {args.run}"
            )
            raise ClientError(f"{what} has no scores yet (no succeeded run)")
        text = {
            "table": lambda: compare_table(result),
            "csv": lambda: exports.compare_csv(result),
            "json": lambda: exports.compare_json(result),
            "latex": lambda: exports.compare_latex(result),
        }[fmt]()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cancel_verb(api: Api, args: argparse.Namespace) -> int:
    run = api.post(f"/api/runs/{args.run}/cancel")
    if run["status"] == "cancelled":
        print(f"run {run['id']} cancelled")
    else:
        print(f"run {run['id']}: cancel requested; it stops at its worker's next step ({run['status']} now)")
    return 0


def retry_verb(api: Api, args: argparse.Namespace) -> int:
    created = api.post(f"/api/runs/{args.run}/retry")
    link = f"{api.server}/runs/{created['id']}"
    print(f"run {created['id']} queued on {created['queue']} (retry of run {args.run}): {link}")
    if created.get("message"):
        print(created["message"], file=sys.stderr)
    return 0


def share_verb(api: Api, args: argparse.Namespace) -> int:
    if args.experiment is not None:
        body: dict[str, Any] = {"kind": "experiment", "view": {"experiment_id": args.experiment}}
    else:
        body = {"kind": "run", "view": {"run_id": args.run}}
    if args.expires_days is not None:
        body["expires_in_days"] = args.expires_days
    link = api.post("/api/share-links", body)
    print(f"{api.server}/s/{link['token']}")
    if link.get("expires_at"):
        print(f"expires {link['expires_at']}", file=sys.stderr)
    return 0


def wait_verb(api: Api, args: argparse.Namespace, clock: Callable[[], float] = time.monotonic) -> int:
    if args.interval <= 0:
        raise ClientError("--interval: give a number of seconds above 0", 2)
    deadline = None if args.timeout is None else clock() + args.timeout
    try:
        run = api.get(f"/api/runs/{args.run}")
    except ClientError as exc:
        raise ClientError(exc.message, WAIT_LOST) from None
    shown = ""
    unreachable_since: float | None = None
    while run["status"] not in WAIT_EXIT:
        state = f"{run['status']} {round(100 * run.get('progress', 0))}%"
        if state != shown:
            print(f"run {run['id']}: {state}", file=sys.stderr)
            shown = state
        if deadline is not None and clock() >= deadline:
            print(f"run {run['id']} is still {run['status']} after {args.timeout:g} s", file=sys.stderr)
            return WAIT_TIMEOUT
        time.sleep(args.interval if deadline is None else max(0.0, min(args.interval, deadline - clock())))
        try:
            run = api.get(f"/api/runs/{args.run}")
            unreachable_since = None
        except ClientError as exc:  # a server restart while a run trains: keep asking
            if exc.status is not None and exc.status < 500:
                raise ClientError(exc.message, WAIT_LOST) from None
            if unreachable_since is None:
                unreachable_since = clock()
                print(f"{exc.message}; still trying", file=sys.stderr)
    end = run["status"]
    average = run.get("average")
    detail = f": average {100 * average:.1f}%" if end == "succeeded" and average is not None else ""
    if end == "failed" and run.get("error_message"):
        detail = f": {run['error_message']}"
    print(f"run {run['id']} {end}{detail}")
    return WAIT_EXIT[end]


VERBS: dict[str, Callable[[Api, argparse.Namespace], int]] = {
    "runs": runs_verb,
    "show": show_verb,
    "results": results_verb,
    "cancel": cancel_verb,
    "retry": retry_verb,
    "share": share_verb,
    "wait": wait_verb,
}


def client_command(args: argparse.Namespace) -> int:
    """Run one client verb; a ClientError becomes one line on stderr and its exit status."""
    try:
        api = Api(resolve_connection(args.server, args.token))
    except ClientError as exc:
        print(f"xlt {args.verb}: {exc.message}", file=sys.stderr)
        return WAIT_LOST if args.verb == "wait" else exc.exit_code
    try:
        return VERBS[args.verb](api, args)
    except ClientError as exc:
        print(f"xlt {args.verb}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        api.close()
