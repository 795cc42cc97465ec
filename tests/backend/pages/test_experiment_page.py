"""/experiments/{id}: an experiment's progress, and a study's report with its verdicts, intervals,
excluded runs and rules; the report downloads as Markdown, LaTeX, text and JSON."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from backend import store
from tests.factories import stored_study, tiny_config
from worker.training.config import RunConfig


def test_study_page_shows_progress_then_the_report_that_finds_the_planted_effect(client: TestClient) -> None:
    experiment_id = stored_study()
    response = client.get(f"/experiments/{experiment_id}")
    assert response.status_code == 200
    page = response.text
    assert "17 of 18 finished" in page and 'id="study-grid"' in page
    grid = page.split('id="study-grid"')[1].split("</table>")[0]
    assert grid.count("<tr>") == 4 and grid.count('class="badge queued"') == 1  # 3 methods + header
    assert grid.count("warning-mark") == 1  # rs_rp seed 6 did not learn
    verdicts = page.split('data-method="rs_rp"')[1].split("</table>")[0]
    low = verdicts.split('data-aggregate="low"')[1].split("</tr>")[0]
    assert 'class="verdict improves"' in low and "points on low-resource languages" in low
    high = verdicts.split('data-aggregate="high"')[1].split("</tr>")[0]
    assert "no detectable change" in high
    assert "Excluded runs (1)" in page and "did not learn: the task stage did not learn" in page
    assert "stuck_at_chance" in page.split('id="exclusion-rule"')[1].split("</p>")[0]
    assert "1 run(s) still queued or running" in page
    assert 'id="item-table"' in page and 'id="language-table"' in page
    assert not re.search(r"<script(?![^>]*(src=|application/json))", page)  # CSP: no inline scripts


def test_the_report_downloads_in_every_format(client: TestClient) -> None:
    experiment_id = stored_study(seeds=range(1, 4), stuck=(), pending=())
    for ext, marker in (
        ("md", "### Verdicts"),
        ("tex", "\\toprule"),
        ("txt", "Verdicts\n"),
        ("json", '"verdicts"'),
    ):
        response = client.get(f"/experiments/{experiment_id}/report.{ext}")
        assert response.status_code == 200 and marker in response.text, ext
        assert f"xlt-study-{experiment_id}-report.{ext}" in response.headers["content-disposition"]
    assert client.get(f"/experiments/{experiment_id}/report.pdf").status_code == 404


def test_a_study_without_finished_runs_says_why_there_is_no_report(client: TestClient) -> None:
    config = RunConfig.model_validate(tiny_config())
    experiment, _ = store.create_sweep(
        "waiting", "", {"methods": ["baseline"]}, [(config, "cpu", "t")], kind="study"
    )
    page = client.get(f"/experiments/{experiment.id}").text
    assert 'id="report-missing"' in page and "no run has finished yet" in page
    assert "0 of 1 finished" in page


def test_an_unknown_experiment_is_404(client: TestClient) -> None:
    assert client.get("/experiments/99").status_code == 404
