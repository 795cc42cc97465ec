"""The `xlt` command. Verbs that train (`train`, `worker`) import torch; the rest stay light."""

from __future__ import annotations

import argparse
import sys

from xlt.accounts import add_account_verbs
from xlt.client_verbs import CLIENT_VERBS, add_client_verbs, connection_flags
from xlt.data_verbs import DATA_VERBS, add_data_verbs
from xlt.report_cli import add_report_verb


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlt", description="XLT Lab: zero-shot cross-lingual transfer runs")
    verbs = parser.add_subparsers(dest="verb", required=True)

    serve = verbs.add_parser(
        "serve", help="migrate the database, start the API, dashboard and a local worker"
    )
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-worker", action="store_true", help="do not start the local worker")

    verbs.add_parser("worker", help="start a Celery worker for the configured broker")
    verbs.add_parser(
        "dispatcher", help="only the dispatcher: send waiting runs, re-queue runs of lost workers"
    )

    train = verbs.add_parser("train", help="one run without server, database or broker")
    train.add_argument("config", help="run config, .json or .yaml")
    train.add_argument("--out", required=True, help="output folder; results.json is written there")
    train.add_argument(
        "--checkpoint-dir",
        default=None,
        help="keep training checkpoints here; run the same command again to resume (removed on success)",
    )
    train.add_argument(
        "--checkpoint-minutes", type=float, default=30, help="minutes between checkpoints (also each epoch)"
    )

    submit = verbs.add_parser(
        "submit", parents=[connection_flags()], help="submit a run config (or a sweep) to a running XLT Lab"
    )
    submit.add_argument("config", help="run config .json/.yaml; with --sweep: {base, grid, name}")
    submit.add_argument("--url", dest="server", help=argparse.SUPPRESS)  # the name before --server
    submit.add_argument("--sweep", action="store_true", help="the file is a sweep: POST /api/sweeps")
    submit.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")

    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(dest="db_verb", required=True)
    db_verbs.add_parser("upgrade", help="apply Alembic migrations up to head")
    add_account_verbs(verbs)
    add_client_verbs(verbs)
    add_data_verbs(verbs)
    add_report_verb(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.verb == "train":
        from worker.training.command import train_command

        return train_command(args.config, args.out, args.checkpoint_dir, args.checkpoint_minutes)
    if args.verb == "serve":
        from xlt.serve import serve

        return serve(host=args.host, port=args.port, with_worker=not args.no_worker)
    if args.verb == "worker":
        from xlt.worker import run_worker

        return run_worker()
    if args.verb == "dispatcher":
        from worker.dispatcher import run_dispatcher

        return run_dispatcher()
    if args.verb == "submit":
        from xlt.client import submit_command

        return submit_command(args.config, url=args.server, sweep=args.sweep, tags=args.tag, token=args.token)
    if args.verb == "db" and args.db_verb == "upgrade":
        from xlt.serve import upgrade_and_bootstrap

        upgrade_and_bootstrap()
        return 0
    if args.verb in CLIENT_VERBS:
        from xlt.client_verbs import client_command

        return client_command(args)
    if args.verb in DATA_VERBS:
        from xlt.data_verbs import data_command

        return data_command(args)
    if args.verb == "report":
        from xlt.report_cli import report_command

        return report_command(args)
    if args.verb in ("users", "tokens"):
        from xlt.accounts import accounts_command

        return accounts_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
