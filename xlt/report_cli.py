"""`xlt report ID --format table|json|latex|markdown`: a study's report from a running XLT Lab.

Reads GET /api/experiments/{ID}/report (the server computes it, as its page shows it) and prints it
in the chosen format with backend.studies.render, the renderer the page's downloads use. The server
is `--server`, else XLT_SERVER, else http://XLT_HOST:XLT_PORT; `--token` (or XLT_TOKEN) is sent as a
bearer token when the server has accounts.
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx

from backend.settings import get_settings

FORMATS = ("table", "json", "latex", "markdown")  # backend.studies.render.Format, imported only to print


def add_report_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = verbs.add_parser("report", help="print a study's report (deltas, intervals, verdicts)")
    report.add_argument("experiment_id", type=int, metavar="ID", help="the study's experiment id")
    report.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    report.add_argument(
        "--server", default=None, help="XLT Lab address (default XLT_SERVER or XLT_HOST:XLT_PORT)"
    )
    report.add_argument("--token", default=None, help="API token (default XLT_TOKEN)")


def _server(option: str | None) -> str:
    settings = get_settings()
    return (option or os.environ.get("XLT_SERVER") or f"http://{settings.host}:{settings.port}").rstrip("/")


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text


def report_command(args: argparse.Namespace) -> int:
    """Print the report; 0 on success, 1 when the server refused (unknown experiment, no finished
    run yet, not allowed) or could not be reached, as the other client verbs; 2 is a bad argument."""
    from backend.studies.render import render_report
    from backend.studies.report_models import StudyReport

    server = _server(args.server)
    token = args.token or os.environ.get("XLT_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(
            f"{server}/api/experiments/{args.experiment_id}/report", headers=headers, timeout=120
        )
    except httpx.HTTPError as exc:
        print(f"xlt report: cannot reach {server}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"xlt report: {response.status_code} {_message(response)}", file=sys.stderr)
        return 1
    report = StudyReport.model_validate_json(response.content)
    sys.stdout.write(render_report(report, args.format))
    return 0
