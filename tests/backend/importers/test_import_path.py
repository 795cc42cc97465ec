"""import_path against a real (embedded SQLite) database: all runs stored in one transaction, or none."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from backend import store
from backend.db import session
from backend.importers import import_command, import_path
from backend.models import Run, RunCorrectness
from backend.settings import Settings
from backend.store.imports import import_results
from worker.training.correctness import encode_correctness
from worker.training.results import RunResult, RunWarning, Score

Builder = Callable[..., Path]

CSV = (
    "run,task,model,method,seed,language,metric,value,n\n"
    "paper-rsda,xnli,xlm-roberta-large,stsb+rs_da,1,en,accuracy,0.89,5010\n"
    "paper-rsda,xnli,xlm-roberta-large,stsb+rs_da,1,sw,accuracy,0.72,5010\n"
)


@pytest.fixture
def sample_tree(
    tmp_path: Path,
    xtreme_folder: Builder,
    make_args: Callable[..., argparse.Namespace],
    xnli_scores: dict[str, float],
) -> Path:
    """An XTREME folder, a Robust-XLT folder and a CSV, as a researcher's results directory."""
    root = tmp_path / "results"
    xtreme_folder(
        root / "xnli" / "bert-base-multilingual-cased-LR2e-5-epoch5-MaxLen128",
        xnli_scores,
        args=make_args(data_dir="/data/download/xnli", seed=1),
    )
    xtreme_folder(root / "robust" / "seed2", {"en": 0.82, "de": 0.74}, args=make_args(seed=2))
    (root / "table.csv").write_text(CSV, encoding="utf-8")
    return root


def _queues() -> list[str]:
    with session() as s:
        return list(s.scalars(select(Run.queue)))


def test_import_stores_finished_runs_with_per_language_scores_in_an_experiment(
    embedded_settings: Settings, sample_tree: Path, xnli_scores: dict[str, float]
) -> None:
    report = import_path(sample_tree, experiment_name="earlier results")

    assert report.ok, report.lines()
    assert len(report.run_ids) == 3 and report.experiment_created
    exp = report.experiment_id
    assert report.lines()[-1] == f"imported 3 run(s) in experiment {exp} 'earlier results' (new)"
    runs = {r.name: r for r in store.get_runs(report.run_ids)}
    xtreme_name = "xnli/bert-base-multilingual-cased-LR2e-5-epoch5-MaxLen128"
    assert set(runs) == {xtreme_name, "robust/seed2", "paper-rsda"}
    assert {r.status for r in runs.values()} == {"succeeded"} and set(_queues()) == {"import"}
    assert {r.experiment_id for r in runs.values()} == {report.experiment_id}
    assert all(r.tags == ["imported"] and r.progress == 1.0 for r in runs.values())
    xtreme = runs[xtreme_name]
    assert (xtreme.method, xtreme.seed, xtreme.model) == ("baseline", 1, "bert-base-multilingual-cased")
    assert {s.language: s.value for s in store.get_scores(xtreme.id)} == xnli_scores
    assert xtreme.average == pytest.approx(sum(xnli_scores.values()) / 15)
    assert runs["robust/seed2"].method == "rs_da"
    paper = runs["paper-rsda"]
    assert (paper.method, paper.config["intermediate"]["task"]) == ("stsb+rs_da", "stsb")
    assert [(s.language, s.value, s.n) for s in store.get_scores(paper.id)] == [
        ("en", 0.89, 5010),
        ("sw", 0.72, 5010),
    ]

    again = import_path(sample_tree / "table.csv", experiment_name="earlier results")

    assert again.experiment_id == report.experiment_id and not again.experiment_created


def test_a_malformed_file_refuses_the_whole_import_and_stores_nothing(
    embedded_settings: Settings, sample_tree: Path
) -> None:
    bad = sample_tree / "robust" / "seed2" / "test_results.txt"
    bad.write_text(bad.read_text().replace("de=0.74", "de=0.74\nqq=0.5"))

    report = import_path(sample_tree, experiment_name="never")

    assert not report.ok and report.exit_code == 1
    assert f"{bad}:4: unknown language code 'qq'" in report.lines()[0]
    assert report.lines()[-1].endswith("nothing stored")
    assert store.list_runs().total == 0 and store.list_experiments() == []


def test_dry_run_reports_what_would_be_created_and_stores_nothing(
    embedded_settings: Settings, sample_tree: Path
) -> None:
    report = import_path(sample_tree, experiment_name="maybe", dry_run=True)

    assert report.ok and len(report.runs) == 3 and report.run_ids == []
    lines = report.lines()
    assert sum(line.startswith("would create  ") for line in lines) == 3
    assert lines[-1] == "dry run: 3 run(s) would be created in experiment 'maybe'; nothing stored"
    assert store.list_runs().total == 0 and store.list_experiments() == []


def test_import_command_prints_the_report_and_exits_1_on_problems(
    embedded_settings: Settings, sample_tree: Path
) -> None:
    printed: list[str] = []

    assert import_command(sample_tree, dry_run=True, echo=printed.append) == 0
    assert printed[-1] == "dry run: 3 run(s) would be created; nothing stored"
    assert "    note: method rs_da inferred from data_dir" in "\n".join(printed)

    assert import_command(sample_tree / "missing", echo=printed.append) == 1
    assert printed[-2:] == [
        f"{sample_tree / 'missing'}: no such file or folder",
        f"1 problem(s) in {sample_tree / 'missing'}; nothing stored",
    ]


def test_store_rolls_back_every_run_when_one_fails_mid_import(
    embedded_settings: Settings, sample_tree: Path
) -> None:
    report = import_path(sample_tree, dry_run=True)
    score = Score(dataset="xnli", language="en", split="test", metric="accuracy", value=0.5, n=1)
    broken = RunResult(config=report.runs[0].result.config, scores=[score, score])  # primary key clash

    with pytest.raises(Exception, match="(?i)unique|integrity"):
        import_results([r.result for r in report.runs] + [broken], "half")

    assert store.list_runs().total == 0 and store.list_experiments() == []


def test_results_json_of_xlt_train_imports_as_it_is(embedded_settings: Settings, tmp_path: Path) -> None:
    config = {"task": "pawsx", "model": "tiny", "name": "local", "train": {"seed": 5}}
    score = Score(dataset="pawsx", language="de", split="test", metric="accuracy", value=0.7, n=496)
    out = tmp_path / "out"
    out.mkdir()
    result = RunResult(
        config=config,
        scores=[score],
        warnings=[RunWarning(code="stuck_at_chance", message="did not learn")],
        correctness={"pawsx": {"de": encode_correctness([True, False])}},
    )
    (out / "results.json").write_text(result.model_dump_json())

    report = import_path(tmp_path)

    [run] = store.get_runs(report.run_ids)
    assert (run.name, run.task, run.seed) == ("local", "pawsx", 5)
    assert [s.value for s in store.get_scores(run.id)] == [0.7]
    assert [w.code for w in run.warnings] == ["stuck_at_chance"]
    with session() as s:
        assert s.execute(select(RunCorrectness.language, RunCorrectness.n)).all() == [("de", 2)]


@pytest.mark.postgres
def test_import_into_postgresql_is_all_or_nothing_too(pg_redis_settings: Settings, sample_tree: Path) -> None:
    report = import_path(sample_tree, experiment_name="pg")

    assert report.ok and len(report.run_ids) == 3
    assert sum(len(store.get_scores(i)) for i in report.run_ids) == 15 + 2 + 2

    (sample_tree / "table.csv").write_text(CSV + "late,xnli,m,baseline,1,en,accuracy,oops,1\n")
    refused = import_path(sample_tree, experiment_name="pg")

    assert (
        not refused.ok and f"{sample_tree / 'table.csv'}:4: value 'oops' is not a number" in refused.lines()
    )
    assert store.list_runs().total == 3
