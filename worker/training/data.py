"""Sentence-pair datasets from the local JSONL layout or the Hugging Face hub, as `PairExample` lists.

Why a module of its own: every task (XNLI, PAWS-X, AmericasNLI, STS-B) ends up as the same list of
(id, sentence1, sentence2, target) rows, and every way that loading can go wrong ends up as one
`DataError` whose message names the file (and line, and label) a researcher has to fix.

Local layout (ARCHITECTURE.md): `<dir>/<dataset>/<split>.<lang>.jsonl`, one JSON object a line.
Hub layout: the `datasets` names below, one config per language. The hub is unreachable in CI, so
tests replace `hf_load_split`; the code path is the one a user with internet runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.training.config import DataConfig
from worker.training.paths import UNCONFINED, Roots

NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
PAWSX_LABELS: tuple[str, ...] = ("0", "1")

# Label names of each classification dataset, in class-index order; stsb is regression (scores 0–5).
DATASET_LABELS: dict[str, tuple[str, ...]] = {
    "xnli": NLI_LABELS,
    "americasnli": NLI_LABELS,
    "pawsx": PAWSX_LABELS,
}
REGRESSION_DATASETS = frozenset({"stsb"})
# Where the Robust-XLT synonym table sits in a local data folder (run's default, data prepare's output).
SYNONYMS_IN_DATA_DIR = Path("synonyms") / "counterfitted_neighbors.json"


@dataclass(frozen=True)
class PairExample:
    id: str
    sentence1: str
    sentence2: str
    target: float  # class index for classification, similarity score (0–5) for stsb


class DataError(Exception):
    """Any problem with the data a run asked for; the message says what and where."""


class DataFileMissing(DataError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"data file not found: {path}")
        self.path = path


class MalformedData(DataError):
    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"malformed data in {path} line {line}: {reason}")
        self.path, self.line = path, line


class UnknownLabel(DataError):
    def __init__(self, label: object, path: Path | str, line: int, allowed: tuple[str, ...]) -> None:
        super().__init__(f"unknown label {label!r} in {path} line {line}; allowed: {', '.join(allowed)}")
        self.label, self.path, self.line = label, path, line


def num_labels(dataset: str) -> int:
    """1 for regression (stsb), otherwise the number of classes."""
    return 1 if dataset in REGRESSION_DATASETS else len(DATASET_LABELS[dataset])


def load_split(
    data: DataConfig,
    dataset: str,
    split: str,
    lang: str,
    max_examples: int | None = None,
    roots: Roots = UNCONFINED,
) -> list[PairExample]:
    """Examples of one (dataset, split, language), first `max_examples` in file order. A local file is
    read only where it really lies under `roots` (the worker's XLT_DATA_DIR; PathRefused otherwise)."""
    if data.source == "local":
        assert data.dir is not None  # the config validator guarantees it
        file = local_path(Path(data.dir), dataset, split, lang)
        roots.data_path(str(file), "data.dir", resolve=True)  # before anything looks at the disk
        examples = read_local_split(Path(data.dir), dataset, split, lang)
    else:
        examples = read_hf_split(dataset, split, lang)
    return examples[:max_examples] if max_examples is not None else examples


# ---------------------------------------------------------------------------------------------
# local JSONL


def local_path(root: Path, dataset: str, split: str, lang: str) -> Path:
    return root / dataset / f"{split}.{lang}.jsonl"


def read_local_split(root: Path, dataset: str, split: str, lang: str) -> list[PairExample]:
    path = local_path(root, dataset, split, lang)
    if not path.is_file():
        raise DataFileMissing(path)
    examples = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedData(path, line_no, f"not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise MalformedData(path, line_no, "expected a JSON object")
            examples.append(row_to_example(row, dataset, path, line_no))
    return examples


def row_to_example(row: dict[str, Any], dataset: str, path: Path | str, line_no: int) -> PairExample:
    """One JSON object (local layout field names) → PairExample, with typed errors."""
    for field in ("sentence1", "sentence2"):
        if not isinstance(row.get(field), str):
            raise MalformedData(path, line_no, f"field '{field}' missing or not a string")
    if dataset in REGRESSION_DATASETS:
        score = row.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise MalformedData(path, line_no, "field 'score' missing or not a number")
        target = float(score)
    else:
        if "label" not in row:
            raise MalformedData(path, line_no, "field 'label' missing")
        target = float(label_index(row["label"], dataset, path, line_no))
    return PairExample(str(row.get("id", line_no - 1)), row["sentence1"], row["sentence2"], target)


def label_index(label: object, dataset: str, path: Path | str, line_no: int) -> int:
    allowed = DATASET_LABELS[dataset]
    name = str(label) if not isinstance(label, bool) else repr(label)
    if name not in allowed:
        raise UnknownLabel(label, path, line_no, allowed)
    return allowed.index(name)


# ---------------------------------------------------------------------------------------------
# Hugging Face hub

# dataset → (hub path, our split name → hub split name, field names: sentence1, sentence2, target)
HF_SOURCES: dict[str, tuple[str, dict[str, str], tuple[str, str, str]]] = {
    "xnli": ("facebook/xnli", {"dev": "validation"}, ("premise", "hypothesis", "label")),
    "pawsx": ("google-research-datasets/paws-x", {"dev": "validation"}, ("sentence1", "sentence2", "label")),
    "stsb": ("PhilipMay/stsb_multi_mt", {}, ("sentence1", "sentence2", "similarity_score")),
    "americasnli": ("nala-cub/americas_nli", {"dev": "validation"}, ("premise", "hypothesis", "label")),
}


HubLoader = Callable[[str, str, str], Any]  # (hub path, config name, split) → iterable of dict rows


def hf_load_split(path: str, name: str, split: str) -> Any:
    """The one call to the hub (tests replace this). Returns an iterable of dict rows."""
    from datasets import load_dataset

    return load_dataset(path, name, split=split)


def read_hf_split(dataset: str, split: str, lang: str, load: HubLoader | None = None) -> list[PairExample]:
    """`load` replaces the hub call (`xlt data prepare` passes its own); default hf_load_split."""
    hub_path, split_names, (f1, f2, ft) = HF_SOURCES[dataset]
    hub_split = split_names.get(split, split)
    where = f"{hub_path} ({lang}, {hub_split})"
    try:
        rows = (load or hf_load_split)(hub_path, lang, hub_split)
    except FileNotFoundError as exc:
        raise DataError(f"data not found on the hub: {where}: {exc}") from exc
    examples = []
    for i, row in enumerate(rows):
        line_no = i + 1
        if f1 not in row or f2 not in row or ft not in row:
            raise MalformedData(where, line_no, f"row lacks one of {f1}, {f2}, {ft}")
        raw = row[ft]
        if dataset in REGRESSION_DATASETS:
            target = float(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            # hub datasets store ClassLabel indices in our label order; -1 marks an unlabeled row
            if not 0 <= raw < len(DATASET_LABELS[dataset]):
                raise UnknownLabel(raw, where, line_no, DATASET_LABELS[dataset])
            target = float(raw)
        else:
            target = float(label_index(raw, dataset, where, line_no))
        examples.append(PairExample(str(row.get("id", i)), str(row[f1]), str(row[f2]), target))
    return examples
