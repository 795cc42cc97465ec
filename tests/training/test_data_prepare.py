"""`xlt data prepare` on datasets built here with `datasets` and saved to disk (the hub is unreachable):
the files it writes load back through the local reader with the same labels and scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, disable_progress_bars, load_from_disk

from worker.training import data_prepare
from worker.training.data import HF_SOURCES, NLI_LABELS, read_local_split
from worker.training.data_prepare import prepare_data
from worker.training.languages import DATASET_LANGUAGES

LANGUAGES = ["en", "de", "quy"]  # en/de: xnli, pawsx, stsb; quy: americasnli


def _pairs(f1: str, f2: str, target: str, labels: Any, n: int, lang: str) -> Dataset:
    features = Features({f1: Value("string"), f2: Value("string"), target: labels})
    classes = labels.num_classes if isinstance(labels, ClassLabel) else 0
    values = [i % classes if classes else round(i * 0.7, 2) for i in range(n)]
    columns = {
        f1: [f"{lang} premise {i}" for i in range(n)],
        f2: [f"{lang} hypothesis {i}" for i in range(n)],
    }
    return Dataset.from_dict({**columns, target: values}, features=features)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub look-alike on disk: <root>/<hub path>/<config>/ saved with DatasetDict.save_to_disk."""
    disable_progress_bars()
    root = tmp_path_factory.mktemp("hub")
    kinds = {
        "xnli": ClassLabel(names=list(NLI_LABELS)),
        "americasnli": ClassLabel(names=list(NLI_LABELS)),
        "pawsx": ClassLabel(names=["0", "1"]),
        "stsb": Value("float32"),
    }
    hub_splits = {"xnli": ["train", "validation", "test"], "pawsx": ["train", "validation", "test"]}
    hub_splits |= {"stsb": ["train", "dev", "test"], "americasnli": ["validation", "test"]}
    for dataset, (path, _, (f1, f2, target)) in HF_SOURCES.items():
        for lang in (code for code in LANGUAGES if code in DATASET_LANGUAGES[dataset]):
            splits = {
                s: _pairs(f1, f2, target, kinds[dataset], 4 + k, lang)
                for k, s in enumerate(hub_splits[dataset])
            }
            DatasetDict(splits).save_to_disk(str(root / path / lang))
    return root


def _load_from(hub: Path) -> Any:
    def load(path: str, name: str, split: str) -> Dataset:
        return load_from_disk(str(hub / path / name))[split]

    return load


def test_prepare_writes_the_local_layout_that_the_local_reader_loads_back(hub: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    heard: list[str] = []

    report = prepare_data(
        out,
        ["xnli", "pawsx", "stsb", "americasnli"],
        load=_load_from(hub),
        languages=LANGUAGES,
        on_file=lambda f: heard.append(f.path.name),
    )

    written = sorted(str(f.path.relative_to(out)) for f in report.files)
    assert written == [
        "americasnli/dev.quy.jsonl",
        "americasnli/test.quy.jsonl",
        "pawsx/dev.de.jsonl",
        "pawsx/dev.en.jsonl",
        "pawsx/test.de.jsonl",
        "pawsx/test.en.jsonl",
        "pawsx/train.en.jsonl",  # training data for the source language only
        "stsb/dev.de.jsonl",
        "stsb/dev.en.jsonl",
        "stsb/test.de.jsonl",
        "stsb/test.en.jsonl",
        "stsb/train.en.jsonl",
        "xnli/dev.de.jsonl",
        "xnli/dev.en.jsonl",
        "xnli/test.de.jsonl",
        "xnli/test.en.jsonl",
        "xnli/train.en.jsonl",
    ]
    assert len(heard) == 17 and not list(out.rglob("*.tmp"))
    hub_xnli = load_from_disk(str(hub / "facebook/xnli/de"))["test"]  # 6 rows: our test ← hub test
    xnli = read_local_split(out, "xnli", "test", "de")
    assert [e.target for e in xnli] == [float(label) for label in hub_xnli["label"]] == [0, 1, 2, 0, 1, 2]
    assert [e.sentence1 for e in xnli] == hub_xnli["premise"]
    assert len(read_local_split(out, "xnli", "dev", "en")) == 5  # dev ← hub "validation"
    raw = [json.loads(line) for line in (out / "xnli" / "test.de.jsonl").read_text().splitlines()]
    assert raw[1] == {
        "id": 1,
        "sentence1": "de premise 1",
        "sentence2": "de hypothesis 1",
        "label": "neutral",
    }
    pawsx = [json.loads(line) for line in (out / "pawsx" / "train.en.jsonl").read_text().splitlines()]
    assert [row["label"] for row in pawsx] == [0, 1, 0, 1]
    assert [e.target for e in read_local_split(out, "pawsx", "train", "en")] == [0.0, 1.0, 0.0, 1.0]
    sts = read_local_split(out, "stsb", "dev", "de")  # stsb's hub split is called dev
    assert [e.target for e in sts] == pytest.approx([0.0, 0.7, 1.4, 2.1, 2.8])
    assert [e.target for e in read_local_split(out, "americasnli", "test", "quy")] == [0, 1, 2, 0, 1]
    lines = report.lines()
    assert len(lines) == 19
    assert "        6  xnli/test.de.jsonl" in lines
    assert lines[-2] == f"17 file(s), {sum(f.count for f in report.files)} examples in {out}"


def test_a_failed_download_leaves_the_previous_file_whole(hub: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    prepare_data(out, ["americasnli"], load=_load_from(hub), languages=["quy"])
    before = (out / "americasnli" / "test.quy.jsonl").read_bytes()

    def broken(path: str, name: str, split: str) -> Any:
        rows = list(load_from_disk(str(hub / path / name))[split])
        return rows[:2] + [{"premise": "p", "hypothesis": "h", "label": 7}]  # fails after two rows

    with pytest.raises(Exception, match="unknown label 7"):
        prepare_data(out, ["americasnli"], load=broken, languages=["quy"])

    assert (out / "americasnli" / "test.quy.jsonl").read_bytes() == before
    assert not list(out.rglob("*.tmp"))


def test_a_write_that_fails_half_way_leaves_neither_a_partial_file_nor_a_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "xnli" / "test.de.jsonl"
    data_prepare.write_atomic(target, b"old\n")

    def disk_full(fd: int) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(data_prepare.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        data_prepare.write_atomic(target, b"new, but never complete\n")

    assert target.read_bytes() == b"old\n"
    assert [p.name for p in target.parent.iterdir()] == ["test.de.jsonl"]


def test_synonym_table_is_checked_against_the_pinned_checksum(shared_data: Path, tmp_path: Path) -> None:
    real = (shared_data / "synonyms" / "counterfitted_neighbors.json").read_bytes()
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return real

    report = prepare_data(tmp_path, [], with_synonyms=True, fetch=fetch)

    assert asked == [data_prepare.SYNONYMS_URL]
    [table] = report.files
    assert table.path == tmp_path / "synonyms" / "counterfitted_neighbors.json" and table.count == 49975
    assert table.path.read_bytes() == real
    with pytest.raises(ValueError, match="sha256"):
        prepare_data(tmp_path / "other", [], with_synonyms=True, fetch=lambda url: b"{}")
    assert not (tmp_path / "other" / "synonyms" / "counterfitted_neighbors.json").exists()


def test_unknown_dataset_is_refused_before_any_download(tmp_path: Path) -> None:
    def never(path: str, name: str, split: str) -> Any:
        raise AssertionError("downloaded")

    with pytest.raises(ValueError, match="unknown dataset.*xcopa.*known: xnli, pawsx, stsb, americasnli"):
        prepare_data(tmp_path, ["xnli", "xcopa"], load=never)


def test_prepare_command_prints_each_file_as_written_and_exits_by_outcome(hub: Path, tmp_path: Path) -> None:
    printed: list[str] = []
    calls: list[str] = []

    def every_language_is_quy(path: str, name: str, split: str) -> Dataset:
        calls.append(name)
        if len(calls) > 12:
            raise FileNotFoundError(f"{name} is gone")
        return load_from_disk(str(hub / path / "quy"))[split]

    status = data_prepare.prepare_command(
        tmp_path, "americasnli", echo=printed.append, load=every_language_is_quy
    )

    assert status == 1
    assert printed[0] == "        4  americasnli/dev.aym.jsonl"
    assert printed[10] == "        5  americasnli/test.aym.jsonl" and len(printed) == 13
    assert printed[-1].startswith("error: data not found on the hub: nala-cub/americas_nli (cni, test)")
    assert data_prepare.prepare_command(tmp_path, "xnli,mnli", echo=printed.append) == 2
    assert printed[-1] == "error: unknown dataset(s) mnli; known: xnli, pawsx, stsb, americasnli"
    printed.clear()

    assert (
        data_prepare.prepare_command(tmp_path, "americasnli", echo=printed.append, load=_load_from(hub)) == 1
    )
    assert "(aym, validation)" in printed[0]  # the fake hub holds quy only
