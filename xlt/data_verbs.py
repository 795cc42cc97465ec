"""Operator verbs for data: `xlt import PATH` (earlier results into the database) and
`xlt data prepare --out DIR` (datasets from the hub into the local JSONL layout, for offline nodes).

`xlt import` works on the configured database directly, as `xlt users` does (run it where
XLT_DATABASE_URL / XLT_HOME point at the server's database); it migrates the database first unless
it is a dry run. Everything is parsed before anything is stored: problems are printed with file and
line on stderr, and then nothing is stored (exit status 1). With `--study` the runs become one
study whose methods, seeds and baseline come from the runs (backend.importers.study).
"""

from __future__ import annotations

import argparse
import sys

DATA_VERBS = ("import", "data")
PREPARED = ("xnli", "pawsx", "stsb", "americasnli")  # data_prepare.DATASETS (a test keeps them equal)


def add_data_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = verbs.add_parser(
        "import",
        help="earlier results (XTREME/Robust-XLT output folders, CSV, results.json) as finished runs",
    )
    imp.add_argument("path", help="a file, an output folder, or a folder above many (walked recursively)")
    imp.add_argument("--experiment", default=None, help="put the runs in this experiment (made if new)")
    imp.add_argument("--dry-run", action="store_true", help="parse and report; store nothing")
    imp.add_argument(
        "--study",
        action="store_true",
        help="make the runs one new study (needs --experiment): methods and seeds read from the runs, "
        "its report at /experiments/ID and `xlt report ID`",
    )
    imp.add_argument(
        "--baseline",
        default=None,
        metavar="METHOD",
        help="with --study: the method label the others are compared with (default baseline)",
    )

    data = verbs.add_parser("data", help="datasets for offline use")
    data_verbs = data.add_subparsers(dest="data_verb", required=True)
    prepare = data_verbs.add_parser(
        "prepare", help="download once with `datasets` and write <out>/<dataset>/<split>.<lang>.jsonl"
    )
    prepare.add_argument(
        "--out", required=True, help="folder to write; runs use data: {source: local, dir: OUT}"
    )
    prepare.add_argument(
        "--datasets",
        default=",".join(PREPARED),
        help=f"comma-separated (default {','.join(PREPARED)})",
    )
    prepare.add_argument(
        "--with-synonyms", action="store_true", help="also Robust-XLT's neighbour table (for rs_da)"
    )


def import_verb(args: argparse.Namespace) -> int:
    from backend.importers.loader import import_path
    from backend.importers.study import DEFAULT_BASELINE

    if args.baseline is not None and not args.study:
        print("error: --baseline chooses a study's baseline; give --study too", file=sys.stderr)
        return 2
    if not args.dry_run:
        from backend.migrate import upgrade

        upgrade()
    report = import_path(
        args.path,
        experiment_name=args.experiment,
        dry_run=args.dry_run,
        study=args.study,
        baseline=args.baseline or DEFAULT_BASELINE,
    )
    out = sys.stdout if report.ok else sys.stderr
    for line in report.lines():
        print(line, file=out)
    return report.exit_code


def data_command(args: argparse.Namespace) -> int:
    if args.verb == "import":
        return import_verb(args)
    from worker.training.data_prepare import prepare_command

    def echo(line: str) -> None:
        print(line, file=sys.stderr if line.startswith("error:") else sys.stdout, flush=True)

    return prepare_command(args.out, args.datasets, args.with_synonyms, echo=echo)
