"""`import_path(..., study=True)`: a folder of results.json files trained elsewhere becomes one study
whose spec is read from the runs, and whose report finds the effect planted in them; an import that
cannot make a study is refused with nothing stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.importers import import_path
from backend.services.experiments import get_experiment
from backend.services.studies import study_config, study_report
from tests.factories import PLANTED, make_study_runs, study_result, tiny_config
from worker.training.config import RunConfig

WriteGrid = Callable[..., Path]


@pytest.fixture
def write_grid(tmp_path: Path) -> WriteGrid:
    """Write <method>-seed<seed>/results.json for each method × seed, as `xlt train --out` writes
    them, with the constructed scores and bitsets of make_study_runs (effects planted per method)."""

    def write(
        methods: Sequence[str] = tuple(PLANTED),
        seeds: Sequence[int] = range(1, 6),
        folder: str = "grid",
    ) -> Path:
        root = tmp_path / folder
        constructed = {
            (r.method, r.seed): r for r in make_study_runs({m: PLANTED[m] for m in methods}, seeds)
        }
        base = tiny_config(eval={"extra": ["americasnli"]})
        for (method, seed), run in constructed.items():
            config = RunConfig.model_validate(study_config(base, method, seed, "elsewhere"))
            out = root / f"{method}-seed{seed}"
            out.mkdir(parents=True)
            result = study_result(run, config.model_dump(mode="json"))
            (out / "results.json").write_text(result.model_dump_json(), encoding="utf-8")
        return root

    return write


def _nothing_stored() -> bool:
    return store.list_runs().total == 0 and store.list_experiments() == []


def test_a_folder_of_results_json_imports_as_a_study_whose_report_finds_the_planted_effect(
    client: TestClient, write_grid: WriteGrid
) -> None:
    report = import_path(write_grid(), experiment_name="paper grid", study=True)

    assert report.ok, report.lines()
    exp = report.experiment_id
    assert exp is not None and len(report.run_ids) == 15
    assert report.lines()[-1] == (
        f"imported 15 run(s) in study {exp} 'paper grid' (rs_rp, stsb against 'baseline', "
        f"seeds 1, 2, 3, 4, 5); its report: /experiments/{exp}"
    )
    experiment = get_experiment(exp)
    assert experiment.kind == "study"
    assert experiment.spec is not None
    assert {k: experiment.spec[k] for k in ("methods", "seeds", "baseline")} == {
        "methods": ["baseline", "rs_rp", "stsb"],
        "seeds": [1, 2, 3, 4, 5],
        "baseline": "baseline",
    }
    assert experiment.spec["base"]["eval"]["split"] == "test"
    assert experiment.spec["base"]["intermediate"] is None and "name" not in experiment.spec["base"]

    study = study_report(exp)
    assert study.baseline_method == "baseline" and study.methods == ["rs_rp", "stsb"]
    assert study.verdict("rs_rp", "low").label == "improves"
    assert study.verdict("rs_rp", "high").label == "no detectable change"
    assert {study.verdict("stsb", a).label for a in ("low", "mid", "high")} == {"no detectable change"}
    assert study.excluded == [] and study.seeds["rs_rp"] == [1, 2, 3, 4, 5]

    api = client.get(f"/api/experiments/{exp}/report")
    assert api.status_code == 200, api.text
    assert {(v["method"], v["aggregate"]) for v in api.json()["verdicts"] if v["label"] == "improves"} >= {
        ("rs_rp", "low")
    }
    page = client.get(f"/experiments/{exp}")
    assert page.status_code == 200 and "15 of 15 finished" in page.text and 'id="study-grid"' in page.text


def test_another_baseline_is_compared_with_the_rest(embedded_settings: object, write_grid: WriteGrid) -> None:
    report = import_path(
        write_grid(seeds=(1, 2, 3)), "against stsb", dry_run=True, study=True, baseline="stsb"
    )

    assert report.ok and report.study is not None
    assert (report.study["methods"], report.study["baseline"]) == (["stsb", "baseline", "rs_rp"], "stsb")
    assert report.lines()[-1] == (
        "dry run: 9 run(s) would be created in study 'against stsb' (baseline, rs_rp against 'stsb', "
        "seeds 1, 2, 3); nothing stored"
    )
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("methods", "baseline", "message"),
    [
        (
            ("rs_rp", "stsb"),
            "baseline",
            "study: no imported run has the baseline method 'baseline'; "
            "the runs' methods are rs_rp, stsb (choose one with --baseline)",
        ),
        (("baseline", "rs_rp"), "adv", "study: no imported run has the baseline method 'adv'"),
        (("baseline",), "baseline", "study: every imported run is of method 'baseline'; a study compares"),
    ],
)
def test_a_study_without_its_baseline_or_with_one_method_is_refused_and_nothing_is_stored(
    embedded_settings: object, write_grid: WriteGrid, methods: tuple[str, ...], baseline: str, message: str
) -> None:
    root = write_grid(methods=methods, seeds=(1, 2))

    report = import_path(root, experiment_name="refused", study=True, baseline=baseline)

    assert not report.ok and report.exit_code == 1 and report.run_ids == []
    assert report.lines()[0].startswith(f"{root}: {message}")
    assert report.lines()[-1] == f"1 problem(s) in {root}; nothing stored"
    assert _nothing_stored()


def test_a_study_needs_a_name_of_its_own_and_one_run_per_method_and_seed(
    embedded_settings: object, write_grid: WriteGrid
) -> None:
    root = write_grid(seeds=(1, 2))
    assert not import_path(root, study=True).ok  # no --experiment
    assert "a study import needs --experiment NAME" in import_path(root, study=True).lines()[0]

    first = import_path(root, experiment_name="taken", study=True)
    assert first.ok
    again = import_path(write_grid(seeds=(3,), folder="more"), experiment_name="taken", study=True)
    assert not again.ok and f"experiment {first.experiment_id} 'taken' exists" in again.lines()[0]
    assert store.list_runs().total == 6 and len(store.list_experiments()) == 1

    twice = write_grid(methods=("baseline", "rs_rp"), seeds=(1,), folder="twice")
    (twice / "copy").mkdir()
    (twice / "copy" / "results.json").write_bytes((twice / "rs_rp-seed1" / "results.json").read_bytes())
    refused = import_path(twice, experiment_name="doubled", study=True)
    assert not refused.ok
    assert "study: 2 runs of method 'rs_rp' with seed 1" in refused.lines()[0]
    assert store.list_runs().total == 6


def test_runs_of_different_tasks_are_not_one_study(embedded_settings: object, write_grid: WriteGrid) -> None:
    root = write_grid(methods=("baseline", "rs_rp"), seeds=(1,))
    pawsx = tiny_config(task="pawsx", eval={"languages": ["en", "de"]}, train={"seed": 2})
    other = RunConfig.model_validate(pawsx).model_dump(mode="json")
    (root / "pawsx").mkdir()
    score = study_result(make_study_runs({"baseline": {}}, [2])[0], other)
    score.scores = [
        s.model_copy(update={"dataset": "pawsx"}) for s in score.scores if s.language in ("en", "de")
    ]
    (root / "pawsx" / "results.json").write_text(score.model_dump_json(), encoding="utf-8")

    report = import_path(root, experiment_name="mixed", study=True)

    assert not report.ok
    assert (
        "study: a study's runs differ only in method and seed; these mix tasks pawsx, xnli"
        in report.lines()[0]
    )
    assert _nothing_stored()
