"""`xlt import` and `xlt data prepare` from the command line: what they print, their exit status,
and that a refused import stores nothing (the parsers and the converter have tests of their own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, disable_progress_bars, load_from_disk

from backend.services import runs as runs_service
from backend.settings import Settings
from tests.factories import REPO, fake_result, tiny_config
from worker.training import data as training_data
from worker.training.data import NLI_LABELS, read_local_split
from worker.training.data_prepare import DATASETS
from worker.training.languages import DATASET_LANGUAGES
from xlt.cli import main
from xlt.data_verbs import PREPARED

XTREME_FOLDER = "xnli/bert-base-multilingual-cased-LR2e-5-epoch2-MaxLen128"
RESULTS = (
    "======= Predict using the model from /out/checkpoint-best for test:\n"
    "en=0.81\nde=0.7\nsw=0.6\ntotal=0.7033\n"
)
CSV = (
    "run,task,model,method,seed,language,metric,value,n\n"
    "paper-rsda,xnli,xlm-roberta-large,rs_da,1,en,accuracy,0.89,5010\n"
    "paper-rsda,xnli,xlm-roberta-large,rs_da,1,sw,accuracy,0.72,5010\n"
)
BAD_CSV = (
    "run,task,model,method,seed,language,metric,value,n\n"
    "x,xnli,m,baseline,1,en,accuracy,0.8,10\n"
    "x,xnli,m,baseline,1,xx,accuracy,0.7,10\n"
    "x,xnli,m,baseline,1,de,accuracy,abc,10\n"
)


@pytest.fixture
def results_tree(tmp_path: Path) -> Path:
    """A run_classify.py output folder and a CSV of a paper's scores, as a researcher keeps them."""
    root = tmp_path / "results"
    (root / XTREME_FOLDER).mkdir(parents=True)
    (root / XTREME_FOLDER / "test_results.txt").write_text(RESULTS, encoding="utf-8")
    (root / "table.csv").write_text(CSV, encoding="utf-8")
    return root


def _all_runs() -> list[Any]:
    return runs_service.list_runs(runs_service.RunQuery(page_size=100)).items


def test_xlt_import_stores_a_folder_and_a_csv_as_finished_runs_in_an_experiment(
    embedded_settings: Settings, results_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(results_tree), "--experiment", "earlier results"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "imported 2 run(s) in experiment 1 'earlier results' (new)"
    runs = sorted(_all_runs(), key=lambda r: r.model)
    assert [(r.model, r.status, r.experiment_id) for r in runs] == [
        ("bert-base-multilingual-cased", "succeeded", 1),
        ("xlm-roberta-large", "succeeded", 1),
    ]
    assert runs[0].average == pytest.approx((0.81 + 0.7 + 0.6) / 3)
    assert {s.language: s.value for s in runs_service.get_scores(runs[1].id)} == {"en": 0.89, "sw": 0.72}


def test_xlt_import_dry_run_reports_what_it_would_create_and_stores_nothing(
    embedded_settings: Settings, results_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(results_tree), "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert out.count("would create") == 2
    assert "dry run: 2 run(s) would be created; nothing stored" in out
    assert _all_runs() == []


def test_xlt_import_of_a_malformed_file_names_file_and_line_exits_1_and_stores_nothing(
    embedded_settings: Settings, results_tree: Path
) -> None:
    bad = results_tree / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # XLT_HOME etc. of the embedded database under test

    done = subprocess.run(
        [sys.executable, "-m", "xlt.cli", "import", str(results_tree)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{bad}:3: unknown language code 'xx' (worker/training/languages.py lists the known ones)",
        f"{bad}:4: value 'abc' is not a number",
        f"2 problem(s) in {results_tree}; nothing stored",
    ]
    assert _all_runs() == []  # the two good sources beside it were not stored either


def test_xlt_import_study_makes_one_study_of_results_json_files_or_refuses(
    embedded_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid"
    for method, robust, seed, accuracy in (("baseline", "none", 1, 0.6), ("rs_rp", "rs_rp", 1, 0.65)):
        config = tiny_config(robust={"method": robust}, train={"device": "cpu", "seed": seed})
        (grid / f"{method}-{seed}").mkdir(parents=True)
        result = fake_result(config, {"en": 0.8, "sw": accuracy})
        (grid / f"{method}-{seed}" / "results.json").write_text(result.model_dump_json(), encoding="utf-8")

    assert main(["import", str(grid), "--study", "--experiment", "cluster", "--baseline", "adv"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{grid}: study: no imported run has the baseline method 'adv'")
    assert err[-1] == f"1 problem(s) in {grid}; nothing stored" and _all_runs() == []
    assert main(["import", str(grid), "--baseline", "rs_rp"]) == 2  # --baseline belongs to --study
    assert "give --study too" in capsys.readouterr().err

    assert main(["import", str(grid), "--study", "--experiment", "cluster"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "imported 2 run(s) in study 1 'cluster' (rs_rp against 'baseline', seeds 1); "
        "its report: /experiments/1"
    )
    assert {(r.method, r.experiment_id) for r in _all_runs()} == {("baseline", 1), ("rs_rp", 1)}


# ── xlt data prepare ─────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def saved_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XNLI for every language, built with `datasets` and saved to disk; the hub call reads it."""
    disable_progress_bars()
    root = tmp_path / "hub"
    features = Features(
        {
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=list(NLI_LABELS)),
        }
    )
    for lang in DATASET_LANGUAGES["xnli"]:
        splits = {
            split: Dataset.from_dict(
                {
                    "premise": [f"{lang} {split} premise {i}" for i in range(n)],
                    "hypothesis": [f"{lang} {split} hypothesis {i}" for i in range(n)],
                    "label": [i % 3 for i in range(n)],
                },
                features=features,
            )
            for split, n in (("train", 6), ("validation", 4), ("test", 5))
        }
        DatasetDict(splits).save_to_disk(str(root / "facebook" / "xnli" / lang))

    def load(path: str, name: str, split: str) -> Any:
        return load_from_disk(str(root / path / name))[split]

    monkeypatch.setattr(training_data, "hf_load_split", load)
    return root


def test_xlt_data_prepare_writes_the_local_layout_and_says_how_runs_use_it(
    saved_hub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"

    assert main(["data", "prepare", "--out", str(out), "--datasets", "xnli"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert "        5  xnli/test.sw.jsonl" in lines
    assert lines[-2] == f"31 file(s), {6 + 15 * (4 + 5)} examples in {out}"  # train: English only
    assert lines[-1] == f'runs read them with  data: {{source: local, dir: "{out}"}}'
    assert sorted(p.name for p in (out / "xnli").glob("train.*")) == ["train.en.jsonl"]
    test_sw = read_local_split(out, "xnli", "test", "sw")
    assert [e.sentence1 for e in test_sw] == [f"sw test premise {i}" for i in range(5)]
    first = json.loads((out / "xnli" / "dev.th.jsonl").read_text().splitlines()[1])
    assert first == {
        "id": 1,
        "sentence1": "th validation premise 1",
        "sentence2": "th validation hypothesis 1",
        "label": "neutral",
    }


def test_xlt_data_prepare_refuses_an_unknown_dataset_before_downloading(
    saved_hub: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"

    assert main(["data", "prepare", "--out", str(out), "--datasets", "xnli,mnli"]) == 2

    captured = capsys.readouterr()
    assert captured.err.strip() == "error: unknown dataset(s) mnli; known: xnli, pawsx, stsb, americasnli"
    assert not out.exists()


def test_the_default_dataset_list_of_the_command_is_the_converters() -> None:
    assert PREPARED == DATASETS
