"""XTREME / Robust-XLT output folders parse into runs, or into problems located by file and line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.importers import collect
from worker.training.config import RunConfig

Builder = Callable[..., Path]
MakeArgs = Callable[..., argparse.Namespace]


def test_xtreme_folder_becomes_one_run_with_every_language_and_n_from_predictions(
    tmp_path: Path, xtreme_folder: Builder, make_args: MakeArgs, xnli_scores: dict[str, float]
) -> None:
    args = make_args(data_dir="/data/download/xnli", log_file="train", seed=3)
    folder = tmp_path / "xnli" / "bert-base-multilingual-cased-LR2e-5-epoch5-MaxLen128"
    xtreme_folder(folder, xnli_scores, args=args, n=7, log_name="train")

    runs, problems = collect(tmp_path)

    assert problems == []
    [run] = runs
    cfg = RunConfig.model_validate(run.result.config)
    assert (cfg.task, cfg.model, cfg.train.seed, cfg.method_label) == (
        "xnli",
        "bert-base-multilingual-cased",
        3,
        "baseline",
    )
    assert cfg.name == "xnli/bert-base-multilingual-cased-LR2e-5-epoch5-MaxLen128"
    assert (cfg.train.batch_size, cfg.train.grad_accum, cfg.train.warmup_ratio) == (8, 4, 0.0)
    assert cfg.eval_languages == list(xnli_scores)
    assert {s.language: s.value for s in run.result.scores} == xnli_scores
    assert {s.n for s in run.result.scores} == {7}
    assert run.result.summary.average == pytest.approx(sum(xnli_scores.values()) / 15)
    assert run.result.summary.by_resource_tier["low"] == xnli_scores["sw"]
    assert run.result.environment["source_dev_accuracy"] == 0.81


def test_robust_xlt_folder_gives_rs_da_and_the_generalized_matrix_from_pair_lines(
    tmp_path: Path, xtreme_folder: Builder, make_args: MakeArgs
) -> None:
    pairs = "======= Predict using the model from /out/checkpoint-best for test:\n" + "".join(
        f"{a}-{b}={0.5 + (a == b) / 10}\n" for a in ("en", "de", "zh") for b in ("en", "de", "zh")
    )
    args = make_args(task_name="pawsx", data_dir="/data/data_generalized_augment/pawsx")
    xtreme_folder(tmp_path / "run", {"en": 0.9, "de": 0.8, "zh": 0.7}, args=args, extra_blocks=[pairs])

    [run], problems = collect(tmp_path)

    assert problems == []
    cfg = run.config
    assert (cfg.task, cfg.method_label, cfg.train.seed, cfg.eval.generalized) == ("pawsx", "rs_da", 7, True)
    assert any("inferred from data_dir" in note for note in run.notes)
    matrix = run.result.generalized
    assert matrix is not None and matrix.languages == ["en", "de", "zh"]
    assert matrix.accuracy[0] == [0.6, 0.5, 0.5] and matrix.accuracy[2][2] == 0.6
    assert {s.language: s.value for s in run.result.scores} == {"en": 0.9, "de": 0.8, "zh": 0.7}


def test_sidecar_names_the_method_and_seed_that_run_classify_does_not_record(
    tmp_path: Path, xtreme_folder: Builder, xnli_scores: dict[str, float]
) -> None:
    folder = xtreme_folder(tmp_path / "xnli" / "xlm-roberta-base-LR2e-5-epoch5-MaxLen128", xnli_scores)
    (folder / "xlt-run.json").write_text(json.dumps({"method": "stsb+rs_da", "seed": 11}), encoding="utf-8")

    [run], problems = collect(folder)

    assert problems == []
    cfg = run.config
    assert (cfg.model, cfg.method_label, cfg.train.seed) == ("xlm-roberta-base", "stsb+rs_da", 11)
    assert cfg.intermediate is not None and cfg.robust.method == "rs_da"
    assert cfg.train.learning_rate == 2e-5 and cfg.epochs == 5.0


def test_last_of_the_appended_prediction_blocks_is_the_one_imported(
    tmp_path: Path, xtreme_folder: Builder, make_args: MakeArgs
) -> None:
    rerun = "======= Predict using the model from /out/checkpoint-best for test:\nen=0.95\nde=0.85\n"
    xtreme_folder(tmp_path, {"en": 0.5, "de": 0.4}, args=make_args(), extra_blocks=[rerun])

    [run], _ = collect(tmp_path / "test_results.txt")

    assert {s.language: s.value for s in run.result.scores} == {"en": 0.95, "de": 0.85}


def test_bad_lines_and_unknown_languages_are_reported_with_file_and_line(
    tmp_path: Path, xtreme_folder: Builder, make_args: MakeArgs
) -> None:
    folder = xtreme_folder(tmp_path / "run", {"en": 0.8, "de": 0.7}, args=make_args())
    results = folder / "test_results.txt"
    lines = results.read_text().splitlines()
    lines[2] = "de: 0.7"  # malformed
    lines.insert(3, "xx=0.5")  # unknown code
    lines.insert(4, "ja=0.5")  # known, but not an XNLI language
    lines.insert(5, "fr=71.5")  # a percentage
    results.write_text("\n".join(lines) + "\n")

    runs, problems = collect(tmp_path)

    assert runs == []
    messages = [str(p) for p in problems]
    assert f"{results}:3: malformed line 'de: 0.7'" in messages[0]
    assert any(m.startswith(f"{results}:4: unknown language code 'xx'") for m in messages)
    assert any(m.startswith(f"{results}:5: language 'ja' is not a xnli language") for m in messages)
    assert any(m.startswith(f"{results}:6: accuracy 71.5 is outside 0–1") for m in messages)
    assert len(messages) == len(set(messages)) == 4


def test_folder_without_task_or_model_asks_for_the_sidecar(tmp_path: Path, xtreme_folder: Builder) -> None:
    xtreme_folder(tmp_path / "somewhere", {"en": 0.8})

    runs, problems = collect(tmp_path)

    assert runs == [] and len(problems) == 1
    assert "cannot tell the task and model" in problems[0].message and "xlt-run.json" in problems[0].message
