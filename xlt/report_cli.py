"""`xlt report ID --format table|json|latex|markdown`: a study's report from a running XLT Lab.

Reads GET /api/experiments/{ID}/report (the server computes it, as its page shows it) and prints it
in the chosen format with backend.studies.render, the renderer the page's downloads use. The server
and the token are found as for the other client verbs (xlt/client_connection.py): `--server` /
`--token`, else XLT_SERVER / XLT_TOKEN, else the config file, else this machine's `xlt serve`.
"""

from __future__ import annotations

import argparse
import sys

from xlt.client_connection import Api, ClientError, resolve_connection
from xlt.client_verbs import connection_flags

FORMATS = ("table", "json", "latex", "markdown")  # backend.studies.render.Format, imported only to print
REPORT_TIMEOUT = 120  # seconds: the first report of a large study runs its bootstraps on the server


def add_report_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = verbs.add_parser(
        "report", parents=[connection_flags()], help="print a study's report (deltas, intervals, verdicts)"
    )
    report.add_argument("experiment_id", type=int, metavar="ID", help="the study's experiment id")
    report.add_argument("--format", choices=FORMATS, default="table", help="default: table")


def report_command(args: argparse.Namespace) -> int:
    """Print the report; 0 on success, 1 when the server refused (unknown experiment, no finished
    run yet, not allowed) or could not be reached, as the other client verbs; 2 is a bad argument."""
    from backend.studies.render import render_report
    from backend.studies.report_models import StudyReport

    try:
        api = Api(resolve_connection(args.server, args.token), timeout=REPORT_TIMEOUT)
    except ClientError as exc:
        print(f"xlt report: {exc.message}", file=sys.stderr)
        return exc.exit_code
    try:
        report = StudyReport.model_validate(api.get(f"/api/experiments/{args.experiment_id}/report"))
    except ClientError as exc:
        print(f"xlt report: {exc.message}", file=sys.stderr)
        return exc.exit_code
    finally:
        api.close()
    sys.stdout.write(render_report(report, args.format))
    return 0
