"""`xlt data prepare`: download the datasets once and write the local JSONL layout.

GPU nodes of many clusters have no internet. Run this where there is, copy the folder over, and
runs use `data: {source: local, dir: …}`. What goes where is not decided here: hub names, split
names and field mapping come from `data.HF_SOURCES` and rows are converted by `data.read_hf_split`
(the same code that a run with `data.source: hf` uses), so a local copy and the hub give a run the
same examples. Written as `<out>/<dataset>/<split>.<lang>.jsonl` with `id`, `sentence1`,
`sentence2` and `label` (XNLI/AmericasNLI: entailment|neutral|contradiction; PAWS-X: 0/1) or
`score` (STS-B, 0–5), exactly what `data.read_local_split` reads.

Zero-shot transfer trains on the source language only, so training splits are written for
`train_languages` (English by default) and dev/test splits for every language of a dataset.

`--with-synonyms` adds Robust-XLT's neighbour table for rs_da, pinned to the commit and checksum of
`counterfitted_neighbors.json` in github uclanlp/Robust-XLT (what its perturb.py reads by default),
at `<out>/synonyms/counterfitted_neighbors.json`, where runs look for it.

Every file is written to a temporary name and renamed when complete: an interrupted download never
leaves a half-written split that a later run would silently train on.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from worker.training.data import (
    DATASET_LABELS,
    HF_SOURCES,
    REGRESSION_DATASETS,
    SYNONYMS_IN_DATA_DIR,
    DataError,
    HubLoader,
    PairExample,
    local_path,
    read_hf_split,
)
from worker.training.languages import DATASET_LANGUAGES

DATASETS: tuple[str, ...] = tuple(HF_SOURCES)
# Splits each dataset has on the hub (AmericasNLI has no training data: it is evaluation only).
SPLITS: dict[str, tuple[str, ...]] = {
    "xnli": ("train", "dev", "test"),
    "pawsx": ("train", "dev", "test"),
    "stsb": ("train", "dev", "test"),
    "americasnli": ("dev", "test"),
}
SYNONYMS_URL = (
    "https://raw.githubusercontent.com/uclanlp/Robust-XLT/"
    "175cddb89c4e86c7152d0175db8f824f7f4e6bad/counterfitted_neighbors.json"
)
SYNONYMS_SHA256 = "103247143f39bd5dd66850f3a912393392641dbd98093c61e2b24a4cc8a96fb0"

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    count: int  # examples, or words for the synonym table


@dataclass
class PrepareReport:
    out: Path
    files: list[WrittenFile] = field(default_factory=list)

    def file_line(self, written: WrittenFile) -> str:
        return f"{written.count:>9}  {written.path.relative_to(self.out)}"

    def closing_lines(self) -> list[str]:
        examples = sum(f.count for f in self.files if f.path.suffix == ".jsonl")
        return [
            f"{len(self.files)} file(s), {examples} examples in {self.out}",
            f'runs read them with  data: {{source: local, dir: "{self.out}"}}',
        ]

    def lines(self) -> list[str]:
        """What `xlt data prepare` prints: count and path of each file, then the total and how to use it."""
        return [self.file_line(f) for f in self.files] + self.closing_lines()


def fetch_url(url: str) -> bytes:
    """The one download outside the hub (tests replace it)."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (a fixed https URL)
        data: bytes = response.read()
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers see all of it or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def example_json(example: PairExample, dataset: str) -> dict[str, object]:
    """One example in the local layout's field names (the inverse of data.row_to_example)."""
    row: dict[str, object] = {
        "id": int(example.id) if example.id.isdigit() else example.id,
        "sentence1": example.sentence1,
        "sentence2": example.sentence2,
    }
    if dataset in REGRESSION_DATASETS:
        row["score"] = example.target
    else:
        name = DATASET_LABELS[dataset][int(example.target)]
        row["label"] = int(name) if name.isdigit() else name  # PAWS-X labels are 0/1
    return row


def jsonl(examples: Sequence[PairExample], dataset: str) -> bytes:
    lines = (json.dumps(example_json(ex, dataset), ensure_ascii=False) for ex in examples)
    return "".join(line + "\n" for line in lines).encode("utf-8")


def prepare_synonyms(out: Path, fetch: Fetch | None = None) -> WrittenFile:
    """Download the Robust-XLT neighbour table, check it is the pinned file, write it atomically."""
    data = (fetch or fetch_url)(SYNONYMS_URL)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SYNONYMS_SHA256:
        raise ValueError(f"{SYNONYMS_URL}: sha256 {digest}, expected {SYNONYMS_SHA256}; not written")
    table = json.loads(data)
    path = out / SYNONYMS_IN_DATA_DIR
    write_atomic(path, data)
    return WrittenFile(path, len(table))


def unknown_datasets(datasets: Sequence[str]) -> str | None:
    unknown = [d for d in datasets if d not in HF_SOURCES]
    return f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}" if unknown else None


def prepare_data(
    out: Path,
    datasets: Sequence[str] = DATASETS,
    with_synonyms: bool = False,
    *,
    load: HubLoader | None = None,
    fetch: Fetch | None = None,
    languages: Sequence[str] | None = None,
    train_languages: Sequence[str] = ("en",),
    on_file: Callable[[WrittenFile], None] | None = None,
) -> PrepareReport:
    """Write every split of `datasets` under `out` (and the synonym table); returns what was written.

    `load` replaces the hub call (default: data.hf_load_split, i.e. `datasets.load_dataset`),
    `fetch` the synonym download; `languages` restricts every dataset to those codes; `on_file`
    hears of each file as soon as it is complete (downloads can take a while).
    Raises ValueError for an unknown dataset name before downloading anything.
    """
    if problem := unknown_datasets(datasets):
        raise ValueError(problem)
    report = PrepareReport(out)

    def done(written: WrittenFile) -> None:
        report.files.append(written)
        if on_file is not None:
            on_file(written)

    for dataset in datasets:
        codes = [c for c in DATASET_LANGUAGES[dataset] if languages is None or c in languages]
        for split in SPLITS[dataset]:
            for lang in codes if split != "train" else [c for c in codes if c in train_languages]:
                examples = read_hf_split(dataset, split, lang, load=load)
                path = local_path(out, dataset, split, lang)
                write_atomic(path, jsonl(examples, dataset))
                done(WrittenFile(path, len(examples)))
    if with_synonyms:
        done(prepare_synonyms(out, fetch))
    return report


def prepare_command(
    out: str | Path,
    datasets: str = ",".join(DATASETS),
    with_synonyms: bool = False,
    echo: Callable[[str], None] = print,
    load: HubLoader | None = None,
) -> int:
    """`xlt data prepare --out DIR [--datasets a,b] [--with-synonyms]`: prints each file as it is
    written; exit status 0, 1 when a download or conversion fails, 2 for an unknown dataset."""
    names = [d.strip() for d in datasets.split(",") if d.strip()]
    if problem := unknown_datasets(names):
        echo(f"error: {problem}")
        return 2
    root = Path(out)
    printer = PrepareReport(root)
    try:
        report = prepare_data(
            root, names, with_synonyms, load=load, on_file=lambda f: echo(printer.file_line(f))
        )
    except (DataError, OSError, ValueError) as exc:  # ValueError: the synonym table's checksum
        echo(f"error: {exc}; files written so far are complete, nothing half-written")
        return 1
    for line in report.closing_lines():
        echo(line)
    return 0
