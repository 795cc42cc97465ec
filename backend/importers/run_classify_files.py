"""Readers of the files that XTREME's / Robust-XLT's `run_classify.py` leaves in `--output_dir`.

Both projects ship the same `third_party/run_classify.py` (google-research/xtreme @838c13b and
uclanlp/Robust-XLT @175cddb, byte-identical). The formats below are read from its `main()`,
`train()` and `evaluate()`:

- `<test_split>_results.txt` (main, `--do_predict`): opened in *append* mode; each prediction
  appends a block
      ======= Predict using the model from {best_checkpoint} for {test_split}:
      {language}={acc}        one line per --predict_languages entry; acc = compute_metrics()['acc']
      total={micro-averaged accuracy}
  Robust-XLT's `scripts/eval_generalized_*.sh` predict language pairs (`en-es=0.71`) into the
  same file of the same folder.
- `test-{language}.tsv` (evaluate(output_file=…), output_only_prediction=True): one predicted
  label per line, so its line count is the number of test examples.
- `eval_results` (main, `--do_eval`): `{key} = {value}` lines, then
  `Best checkpoint is {path}, best accuracy is {acc}` (source-language dev accuracy).
- the log (`--log_file`: 'train' in XTREME's scripts, 'train.log' in Robust-XLT's): main() calls
  `logging.info("Input args: %r" % args)`, i.e. `… - INFO - root -   Input args: Namespace(…)`.

Not read: `eval_test_results` (train(): test accuracy of intermediate checkpoints), `dev_results`
(`--do_predict_dev`), `training_args.bin` (a torch pickle; the backend never imports torch).
Each reader records what it cannot read as a Problem with file and line and carries on, so one
pass reports every problem.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from backend.importers.model import Problem, language_problem

LOG_NAMES = ("train", "train.log")
HEADER = re.compile(r"^=+ Predict using the model from (?P<checkpoint>.*?)(?: for (?P<split>\S+))?:$")
KEY = re.compile(r"[A-Za-z_]+(-[A-Za-z_]+)?")  # a language code, or a pair 'en-es'
BEST = re.compile(r"Best checkpoint is (?P<checkpoint>.*), best accuracy is (?P<acc>\S+)")
NAMESPACE = "Input args: Namespace("

Entry = tuple[str, float, int]  # language (or 'l1-l2'), accuracy, line number
Where = tuple[str, int | None]  # file, line


def read_blocks(path: Path, problems: list[Problem]) -> list[list[Entry]]:
    """The prediction blocks of a `<split>_results.txt`, in file order ('total' lines dropped)."""
    blocks: list[list[Entry]] = []
    current: list[Entry] | None = None
    for no, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if HEADER.match(line):
            current = []
            blocks.append(current)
            continue
        key, sep, value = line.partition("=")
        if not sep or not KEY.fullmatch(key):
            problems.append(
                Problem(str(path), no, f"malformed line {line[:60]!r}: expected 'language=accuracy'")
            )
            continue
        try:
            accuracy = float(value)
        except ValueError:
            problems.append(Problem(str(path), no, f"'{value}' is not a number"))
            continue
        if not 0.0 <= accuracy <= 1.0:  # also refuses nan
            problems.append(Problem(str(path), no, f"accuracy {value} is outside 0–1"))
            continue
        if key == "total":
            continue
        for code in key.split("-"):
            if (why := language_problem(code, None)) is not None:
                problems.append(Problem(str(path), no, why))
        if current is None:
            current = []
            blocks.append(current)
        current.append((key, accuracy, no))
    return blocks


def _namespace(text: str) -> dict[str, Any]:
    """The keyword arguments of a `Namespace(a=1, b='x', …)` repr (raises ValueError otherwise)."""
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(exc.msg) from None
    if not isinstance(call, ast.Call):
        raise ValueError("not a call")
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}


def read_args(folder: Path, problems: list[Problem]) -> tuple[dict[str, Any], Where]:
    """run_classify.py's arguments logged in `folder`, and where (the folder itself if nowhere).

    Evaluation scripts log again into the training folder's log with their own (default) seed,
    so the `--do_train` invocation wins; otherwise the first one.
    """
    found: list[tuple[dict[str, Any], Where]] = []
    logs = sorted({*(folder / n for n in LOG_NAMES), *folder.glob("*.log")})
    for log in (p for p in logs if p.is_file()):
        with log.open(encoding="utf-8", errors="replace") as handle:
            for no, line in enumerate(handle, start=1):
                at = line.find(NAMESPACE)
                if at < 0:
                    continue
                try:
                    found.append((_namespace(line[at + len("Input args: ") :].strip()), (str(log), no)))
                except ValueError:
                    problems.append(Problem(str(log), no, "cannot read the Namespace(...) of 'Input args'"))
    training = [f for f in found if f[0].get("do_train")]
    return (training or found or [({}, (str(folder), None))])[0]


def read_best_checkpoint(folder: Path) -> tuple[str, float] | None:
    """(checkpoint path, source dev accuracy) from `eval_results`, None if absent or unreadable."""
    path = folder / "eval_results"
    found = BEST.search(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else None
    if found is None:
        return None
    try:
        return found["checkpoint"], float(found["acc"])
    except ValueError:
        return None


def count_lines(path: Path) -> int | None:
    """Non-empty lines of a predictions file (= examples evaluated); None if there is none."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
