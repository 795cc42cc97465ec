"""XTREME and Robust-XLT output folders → finished runs.

Both projects ship the same `third_party/run_classify.py` (google-research/xtreme @838c13b and
uclanlp/Robust-XLT @175cddb: byte-identical). What it leaves in `--output_dir`, read from its
`main()` and `evaluate()`:

- `<test_split>_results.txt` (main, `--do_predict`): opened in *append* mode; every prediction
  appends a block
      ======= Predict using the model from {best_checkpoint} for {test_split}:
      {language}={acc}          one line per `--predict_languages` entry; acc = compute_metrics()['acc']
      total={micro-averaged accuracy}
  Robust-XLT's `scripts/eval_generalized_*.sh` predict language *pairs* (`en-es=0.71`: sentence1 in
  en, sentence2 in es) into the same file of the same folder. We take the last plain block as the
  per-language scores and the last pair block as the generalized matrix.
- `test-{language}.tsv` (evaluate(output_file=…), output_only_prediction=True): one predicted label
  per line; its line count is the score's `n` (0, unknown, without it).
- `eval_results` (main, `--do_eval`): `{key} = {value}` lines and a last line
  `Best checkpoint is {path}, best accuracy is {acc}`: the source-language dev accuracy of the
  selected checkpoint.
- the log (`--log_file`: 'train' in XTREME's scripts, 'train.log' in Robust-XLT's): main() logs
  `Input args: Namespace(model_name_or_path='…', task_name='xnli', seed=7, …)`, our source for model,
  task, seed and hyper-parameters (the `--do_train` invocation wins: eval scripts log again into it).

Not read: `eval_test_results` (test accuracy of intermediate checkpoints), `dev_results`
(`--do_predict_dev`) and `training_args.bin` (a torch pickle; the backend never imports torch).
Neither project writes the method: `xlt-run.json` beside the results may say it, e.g.
`{"method": "stsb+rs_da", "seed": 3}` (keys: name, task, model, method, seed, source_language);
otherwise a `data_dir` made by Robust-XLT's perturb.py (`…augment…`) means rs_da, else baseline.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from backend.importers.model import (
    ImportedRun,
    Problem,
    build_run,
    language_problem,
    method_fields,
    short_name,
)
from worker.training.languages import DATASET_LANGUAGES
from worker.training.results import GeneralizedMatrix, Score, SelectedCheckpoint

SIDECAR = "xlt-run.json"
SIDECAR_KEYS = ("name", "task", "model", "method", "seed", "source_language")
LOG_NAMES = ("train", "train.log")
HEADER = re.compile(r"^=+ Predict using the model from (?P<checkpoint>.*?)(?: for (?P<split>\S+))?:$")
BEST = re.compile(r"Best checkpoint is (?P<checkpoint>.*), best accuracy is (?P<acc>\S+)")
FOLDER = re.compile(r"^(?P<model>.+?)-LR(?P<lr>[0-9.eE+-]+)-epoch(?P<epochs>[0-9.]+)-MaxLen(?P<len>\d+)$")
# run_classify.py argument → RunConfig field path
ARG_FIELDS: dict[str, tuple[str, ...]] = {
    "task_name": ("task",),
    "model_name_or_path": ("model",),
    "train_language": ("source_language",),
    "seed": ("train", "seed"),
    "learning_rate": ("train", "learning_rate"),
    "num_train_epochs": ("train", "epochs"),
    "per_gpu_train_batch_size": ("train", "batch_size"),
    "gradient_accumulation_steps": ("train", "grad_accum"),
    "max_seq_length": ("train", "max_seq_len"),
    "weight_decay": ("train", "weight_decay"),
    "max_grad_norm": ("train", "max_grad_norm"),
    "train_split": ("train", "train_split"),
    "test_split": ("eval", "split"),
    "per_gpu_eval_batch_size": ("eval", "batch_size"),
}

Entry = tuple[str, float, int]  # language (or 'l1-l2'), accuracy, line number


def is_output_folder(folder: Path) -> bool:
    return any(folder.glob("*_results.txt"))


def read_blocks(path: Path, problems: list[Problem]) -> list[list[Entry]]:
    """The prediction blocks of a `<split>_results.txt`, every bad line recorded as a problem."""
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
        if not sep or not re.fullmatch(r"[A-Za-z_]+(-[A-Za-z_]+)?", key):
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


Where = tuple[str, int | None]  # file, line


def read_args(folder: Path, problems: list[Problem]) -> tuple[dict[str, Any], Where]:
    """run_classify.py's arguments from its log, and where they were found (the folder if nowhere)."""
    found: list[tuple[dict[str, Any], Where]] = []
    logs = sorted({*(folder / n for n in LOG_NAMES), *folder.glob("*.log")})
    for log in (p for p in logs if p.is_file()):
        with log.open(encoding="utf-8", errors="replace") as handle:
            for no, line in enumerate(handle, start=1):
                at = line.find("Input args: Namespace(")
                if at < 0:
                    continue
                try:
                    call = ast.parse(line[at + len("Input args: ") :].strip(), mode="eval").body
                    assert isinstance(call, ast.Call)
                    args = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
                except (SyntaxError, ValueError, AssertionError):
                    problems.append(Problem(str(log), no, "cannot read the Namespace(...) of 'Input args'"))
                    continue
                found.append((args, (str(log), no)))
    training = [f for f in found if f[0].get("do_train")]
    return (training or found or [({}, (str(folder), None))])[0]


def _set(fields: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        fields = fields.setdefault(key, {})
    fields[path[-1]] = value


def _sidecar(folder: Path, problems: list[Problem]) -> dict[str, Any]:
    path = folder / SIDECAR
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(str(path), exc.lineno, f"not JSON ({exc.msg})"))
        return {}
    if not isinstance(data, dict) or set(data) - set(SIDECAR_KEYS):
        problems.append(
            Problem(str(path), None, f"expected an object with keys among {', '.join(SIDECAR_KEYS)}")
        )
        return {}
    return data


def config_fields(
    folder: Path, root: Path, args: dict[str, Any], sidecar: dict[str, Any], notes: list[str]
) -> dict[str, Any]:
    """Partial RunConfig: folder names < logged arguments < xlt-run.json."""
    fields: dict[str, Any] = {}
    parts = folder.resolve().parts
    task = next((p for p in reversed(parts) if p in ("xnli", "pawsx")), None)
    if task:
        fields["task"] = task
    if named := FOLDER.match(folder.name):
        fields["model"] = named["model"]
        _set(fields, ("train", "learning_rate"), float(named["lr"]))
        _set(fields, ("train", "epochs"), float(named["epochs"]))
        _set(fields, ("train", "max_seq_len"), int(named["len"]))
    for arg, path in ARG_FIELDS.items():
        if args.get(arg) is not None:
            _set(fields, path, args[arg])
    if args.get("warmup_steps") == 0:
        _set(fields, ("train", "warmup_ratio"), 0.0)
    if args.get("fp16"):
        _set(fields, ("train", "precision"), "fp16")
    method = sidecar.get("method")
    if method is None and "augment" in str(args.get("data_dir", "")):
        method = "rs_da"
        notes.append(
            f"method rs_da inferred from data_dir {args['data_dir']!r} (Robust-XLT perturb.py output)"
        )
    fields.update(method_fields(str(method or "baseline")))
    for key in ("task", "model", "source_language"):
        if key in sidecar:
            fields[key] = sidecar[key]
    if "seed" in sidecar:
        _set(fields, ("train", "seed"), sidecar["seed"])
    elif "seed" not in args:
        notes.append("seed not recorded; run_classify.py's default 42 assumed")
    rel = folder.relative_to(root).as_posix() if folder != root else folder.name
    fields["name"] = short_name(str(sidecar.get("name") or rel or folder.name))
    return fields


def _line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _generalized(
    pairs: list[Entry], task: str, folder: Path, path: Path, problems: list[Problem]
) -> GeneralizedMatrix | None:
    cells = {tuple(key.split("-")): acc for key, acc, _ in pairs}
    languages = list(dict.fromkeys(key.split("-")[0] for key, _, _ in pairs))
    if len(cells) != len(languages) ** 2 or any((a, b) not in cells for a in languages for b in languages):
        problems.append(
            Problem(str(path), pairs[0][2], f"language-pair block is not a full {len(languages)}² matrix")
        )
        return None
    first = folder / f"test-{languages[0]}-{languages[0]}.tsv"
    return GeneralizedMatrix(
        dataset=task,
        languages=languages,
        accuracy=[[cells[(a, b)] for b in languages] for a in languages],
        n=_line_count(first) if first.is_file() else 0,
    )


def _selected(folder: Path, environment: dict[str, Any]) -> SelectedCheckpoint | None:
    path = folder / "eval_results"
    found = BEST.search(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else None
    if found is None:
        return None
    try:
        accuracy = float(found["acc"])
    except ValueError:
        return None
    step = re.search(r"checkpoint-(\d+)$", found["checkpoint"].rstrip("/"))
    if step is None:  # 'checkpoint-best': the step is not recorded anywhere we can read
        environment.update(best_checkpoint=found["checkpoint"], source_dev_accuracy=accuracy)
        return None
    return SelectedCheckpoint(step=int(step[1]), source_dev_accuracy=accuracy)


def read_folder(folder: Path, root: Path, problems: list[Problem]) -> ImportedRun | None:
    """One run from one run_classify.py output folder; None (with problems recorded) if it cannot be."""
    before = len(problems)
    notes: list[str] = []
    args, args_at = read_args(folder, problems)
    try:
        fields = config_fields(folder, root, args, _sidecar(folder, problems), notes)
    except ValueError as exc:
        problems.append(Problem(str(folder / SIDECAR), None, str(exc)))
        return None
    task = fields.get("task")
    if task not in DATASET_LANGUAGES or "model" not in fields:
        problems.append(
            Problem(
                str(folder),
                None,
                f"cannot tell the task and model: no log with 'Input args: Namespace(…)', "
                f"no '<model>-LR…-epoch…-MaxLen…' folder under xnli/ or pawsx/; add {SIDECAR}",
            )
        )
        return None
    split = fields.get("eval", {}).get("split", "test")
    path = folder / f"{split}_results.txt"
    if not path.is_file():
        problems.append(Problem(str(path), None, "missing (run_classify.py --do_predict writes it)"))
        return None
    blocks = read_blocks(path, problems)
    plain = [b for b in blocks if b and all("-" not in key for key, _, _ in b)]
    pair_blocks = [b for b in blocks if b and all("-" in key for key, _, _ in b)]
    for block in blocks:
        if block not in plain and block not in pair_blocks:
            problems.append(Problem(str(path), block[0][2], "block mixes languages and language pairs"))
    environment: dict[str, Any] = {"run_classify_args": args, "args_from": args_at[0]} if args else {}
    generalized = _generalized(pair_blocks[-1], task, folder, path, problems) if pair_blocks else None
    if plain:
        entries = plain[-1]
        if len(blocks) > 1:
            notes.append(f"{len(blocks)} prediction blocks in {path.name}; the last per-language one used")
    elif generalized is not None:
        entries = [(key, acc, no) for key, acc, no in pair_blocks[-1] if len(set(key.split("-"))) == 1]
        notes.append("per-language scores are the diagonal of the language-pair matrix")
    else:
        problems.append(Problem(str(path), None, "no 'language=accuracy' lines"))
        return None
    scores: list[Score] = []
    missing_n: list[str] = []
    for key, accuracy, no in entries:
        language = key.split("-")[0]
        if (why := language_problem(language, task)) is not None:
            problems.append(Problem(str(path), no, why))
            continue
        if any(s.language == language for s in scores):
            problems.append(Problem(str(path), no, f"language '{language}' twice in one block"))
            continue
        predictions = folder / f"test-{key}.tsv"
        n = _line_count(predictions) if predictions.is_file() else 0
        if not predictions.is_file():
            missing_n.append(language)
        scores.append(
            Score(dataset=task, language=language, split=split, metric="accuracy", value=accuracy, n=n)
        )
    if missing_n:
        notes.append(f"n unknown (0) for {', '.join(missing_n)}: no test-<lang>.tsv predictions")
    if len(problems) > before:
        return None
    selected = _selected(folder, environment)
    try:
        return build_run(
            source=str(folder),
            origin="xtreme",
            config=fields,
            scores=scores,
            generalized=generalized,
            selected_checkpoint=selected,
            environment=environment,
            notes=notes,
        )
    except ValueError as exc:
        problems.append(Problem(*args_at, str(exc)))
        return None
