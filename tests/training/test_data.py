"""Loaders: real local data, every typed error, and the hf path with the hub call replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from worker.training import data as data_mod
from worker.training.config import DataConfig
from worker.training.data import DataFileMissing, MalformedData, UnknownLabel, load_split


def test_local_loader_reads_real_xnli_pawsx_stsb_and_americasnli(shared_data: Path) -> None:
    local = DataConfig(source="local", dir=str(shared_data))
    xnli = load_split(local, "xnli", "train", "en")
    assert len(xnli) == 3000
    assert {e.target for e in xnli} == {0.0, 1.0, 2.0}
    assert load_split(local, "xnli", "test", "sw", max_examples=10)[0].id == "0"
    assert {e.target for e in load_split(local, "pawsx", "dev", "en")} == {0.0, 1.0}
    sts = load_split(local, "stsb", "train", "en")
    assert len(sts) == 5749 and all(0.0 <= e.target <= 5.0 for e in sts)
    assert len(load_split(local, "americasnli", "test", "oto")) == 197


def _write(root: Path, dataset: str, name: str, text: str) -> DataConfig:
    (root / dataset).mkdir(parents=True, exist_ok=True)
    (root / dataset / name).write_text(text, encoding="utf-8")
    return DataConfig(source="local", dir=str(root))


def test_missing_file_names_the_path_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(DataFileMissing) as err:
        load_split(DataConfig(source="local", dir=str(tmp_path)), "xnli", "test", "sw")
    assert str(tmp_path / "xnli" / "test.sw.jsonl") in str(err.value)


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    good = '{"id": 1, "sentence1": "a", "sentence2": "b", "label": "neutral"}\n'
    cfg = _write(tmp_path, "xnli", "test.de.jsonl", good + good + "{not json\n")
    with pytest.raises(MalformedData) as err:
        load_split(cfg, "xnli", "test", "de")
    assert "test.de.jsonl" in str(err.value) and "line 3" in str(err.value)


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    cfg = _write(tmp_path, "stsb", "train.en.jsonl", '{"sentence1": "a", "sentence2": "b"}\n')
    with pytest.raises(MalformedData, match=r"train\.en\.jsonl line 1: field 'score'"):
        load_split(cfg, "stsb", "train", "en")


def test_unknown_label_names_the_label_and_the_file(tmp_path: Path) -> None:
    row = '{"id": 1, "sentence1": "a", "sentence2": "b", "label": "entails"}\n'
    cfg = _write(tmp_path, "xnli", "dev.en.jsonl", row)
    with pytest.raises(UnknownLabel) as err:
        load_split(cfg, "xnli", "dev", "en")
    message = str(err.value)
    assert "'entails'" in message and "dev.en.jsonl" in message and "entailment" in message


def test_pawsx_label_must_be_zero_or_one(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path, "pawsx", "dev.en.jsonl", '{"id": 1, "sentence1": "a", "sentence2": "b", "label": 2}\n'
    )
    with pytest.raises(UnknownLabel, match="2"):
        load_split(cfg, "pawsx", "dev", "en")


class FakeHub:
    """Stands in for datasets.load_dataset; records what was asked for."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, path: str, name: str, split: str) -> list[dict[str, Any]]:
        self.calls.append((path, name, split))
        return self.rows


def test_hf_xnli_uses_hub_names_and_maps_class_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = FakeHub(
        [{"premise": "p", "hypothesis": "h", "label": 2}, {"premise": "q", "hypothesis": "i", "label": 0}]
    )
    monkeypatch.setattr(data_mod, "hf_load_split", hub)
    rows = load_split(DataConfig(source="hf"), "xnli", "dev", "de")
    assert hub.calls == [("facebook/xnli", "de", "validation")]
    assert [(r.sentence1, r.sentence2, r.target) for r in rows] == [("p", "h", 2.0), ("q", "i", 0.0)]


def test_hf_stsb_multi_mt_reads_similarity_score(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = FakeHub([{"sentence1": "a", "sentence2": "b", "similarity_score": 3.5}])
    monkeypatch.setattr(data_mod, "hf_load_split", hub)
    rows = load_split(DataConfig(source="hf"), "stsb", "train", "en")
    assert hub.calls == [("PhilipMay/stsb_multi_mt", "en", "train")]
    assert rows[0].target == 3.5


def test_hf_pawsx_and_americasnli_hub_names(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = FakeHub(
        [{"id": 7, "sentence1": "a", "sentence2": "b", "premise": "a", "hypothesis": "b", "label": 1}]
    )
    monkeypatch.setattr(data_mod, "hf_load_split", hub)
    assert load_split(DataConfig(source="hf"), "pawsx", "test", "zh")[0].id == "7"
    load_split(DataConfig(source="hf"), "americasnli", "test", "gn")
    assert hub.calls == [
        ("google-research-datasets/paws-x", "zh", "test"),
        ("nala-cub/americas_nli", "gn", "test"),
    ]


def test_hf_unlabeled_row_is_an_unknown_label(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        data_mod, "hf_load_split", FakeHub([{"premise": "p", "hypothesis": "h", "label": -1}])
    )
    with pytest.raises(UnknownLabel, match="facebook/xnli"):
        load_split(DataConfig(source="hf"), "xnli", "test", "en")
