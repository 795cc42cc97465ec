"""XTREME and Robust-XLT output folders → finished runs (one folder, one run).

A folder counts when it holds a `<split>_results.txt` (file formats: run_classify_files.py). Its
per-language scores are the last per-language block of that file (the file is appended to on
every prediction); the last language-pair block, if any, becomes the generalized matrix
(accuracy[i][j]: sentence1 in language i, sentence2 in language j).

run_classify.py records neither the method nor, in its folder names, the seed. The run's config
is assembled from, weakest first:
1. the folder names the scripts make: `<out>/<task>/<model>-LR<lr>-epoch<n>-MaxLen<len>/`;
2. the arguments logged as `Input args: Namespace(…)` (model, task, seed, hyper-parameters); a
   `data_dir` made by Robust-XLT's perturb.py (`…augment…`) means rs_da, else baseline;
3. `xlt-run.json` beside the results, for what neither says, e.g. `{"method": "stsb+rs_da",
   "seed": 3}` (keys: name, task, model, method, seed, source_language).
What was assumed is kept as a note on the run and printed by the import.
"""

from __future__ import annotations

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
from backend.importers.run_classify_files import (
    Entry,
    count_lines,
    read_args,
    read_best_checkpoint,
    read_blocks,
)
from worker.training.languages import DATASET_LANGUAGES
from worker.training.results import GeneralizedMatrix, Score, SelectedCheckpoint

SIDECAR = "xlt-run.json"
SIDECAR_KEYS = ("name", "task", "model", "method", "seed", "source_language")
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


def is_output_folder(folder: Path) -> bool:
    return any(folder.glob("*_results.txt"))


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


def _generalized(
    pairs: list[Entry], task: str, folder: Path, path: Path, problems: list[Problem]
) -> GeneralizedMatrix | None:
    cells = {tuple(key.split("-")): acc for key, acc, _ in pairs}
    languages = list(dict.fromkeys(key.split("-")[0] for key, _, _ in pairs))
    wrong = [why for lang in languages if (why := language_problem(lang, task))]
    if len(cells) != len(languages) ** 2 or any((a, b) not in cells for a in languages for b in languages):
        wrong.append(f"language-pair block is not a full {len(languages)}² matrix")
    if wrong:
        problems.extend(Problem(str(path), pairs[0][2], why) for why in wrong)
        return None
    return GeneralizedMatrix(
        dataset=task,
        languages=languages,
        accuracy=[[cells[(a, b)] for b in languages] for a in languages],
        n=count_lines(folder / f"test-{languages[0]}-{languages[0]}.tsv") or 0,
    )


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
        n = count_lines(folder / f"test-{key}.tsv")
        if n is None:
            missing_n.append(language)
        scores.append(
            Score(dataset=task, language=language, split=split, metric="accuracy", value=accuracy, n=n or 0)
        )
    if missing_n:
        notes.append(f"n unknown (0) for {', '.join(missing_n)}: no test-<lang>.tsv predictions")
    if len(problems) > before:
        return None
    selected = None
    if best := read_best_checkpoint(folder):
        step = re.search(r"checkpoint-(\d+)$", best[0].rstrip("/"))
        if step:
            selected = SelectedCheckpoint(step=int(step[1]), source_dev_accuracy=best[1])
        else:  # 'checkpoint-best': its step is recorded nowhere we can read
            environment.update(best_checkpoint=best[0], source_dev_accuracy=best[1])
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
