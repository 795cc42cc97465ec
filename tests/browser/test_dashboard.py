"""The dashboard in real Chromium against a real server and Celery worker (embedded SQLite mode).

Runs are launched through the form like a researcher would, with a tiny random BERT on the small
local data in ../shared/data; every page visited leaves a screenshot in test-output/.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import SCREENSHOTS, Dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS_NAME = "<script>alert(1)</script>"


def api(dashboard: Dashboard, path: str) -> Any:
    with urllib.request.urlopen(f"{dashboard.url}{path}", timeout=10) as response:
        return json.loads(response.read())


def wait_for(check: Callable[[], bool], timeout: float, what: str, dashboard: Dashboard) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{dashboard.worker.log_tail()}")


def fill_tiny_run(
    page: Any, dashboard: Dashboard, name: str, languages: tuple[str, ...], model: str = ""
) -> None:
    """The launch form for a run small enough for CPU tests: tiny model, local data, 1 epoch, 48 examples."""
    page.goto(f"{dashboard.url}/launch")
    page.fill("#f-name", name)
    page.fill("#f-model", model or str(dashboard.tiny_model))
    page.select_option("#f-data-source", "local")
    page.click("[data-preset=none]")
    for code in languages:
        page.check(f"input[name='eval.languages'][value='{code}']")
    page.fill("#f-train-epochs", "1")
    page.fill("#f-train-batch_size", "16")
    page.fill("#f-train-max_seq_len", "64")
    page.fill("#f-train-max_train_examples", "48")
    page.select_option("#f-train-precision", "fp32")
    page.select_option("#f-train-device", "cpu")


def bar_count(page: Any, chart: str) -> int:
    return int(
        page.evaluate(
            f"() => document.getElementById('{chart}').data"
            ".filter(t => t.type === 'bar').reduce((n, t) => n + t.x.length, 0)"
        )
    )


def test_invalid_value_shows_message_next_to_its_field(page: Any, dashboard: Dashboard) -> None:
    fill_tiny_run(page, dashboard, "bad lr", ("en", "de"))
    page.fill("#f-train-learning_rate", "-0.1")
    page.fill("#f-seeds", "1, 2")
    page.click("#launch-submit")
    field = page.locator("[data-field='train.learning_rate']")
    error = field.locator(".field-error")
    assert "greater than 0" in error.inner_text()
    assert "has-error" in (field.get_attribute("class") or "")
    assert page.locator("#form-errors").is_visible()
    # what was typed is kept, so only the bad field needs fixing
    assert page.input_value("#f-train-learning_rate") == "-0.1"
    assert page.input_value("#f-seeds") == "1, 2"
    assert page.is_checked("input[name='eval.languages'][value='de']")
    assert not page.is_checked("input[name='eval.languages'][value='fr']")
    error.scroll_into_view_if_needed()
    screenshot(page, "launch-invalid")
    assert api(dashboard, "/api/runs")["total"] == 0 or all(
        r["name"] != "bad lr" for r in api(dashboard, "/api/runs")["items"]
    )


def test_form_shows_only_the_settings_that_apply(page: Any, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.url}/launch")
    assert page.is_visible("#f-data-dir")  # this server has XLT_DATA_DIR: local data by default
    assert not page.is_visible("#f-robust-sigma") and not page.is_visible("#f-intermediate-epochs")
    page.select_option("#f-robust-method", "rs_rp")
    assert page.is_visible("#f-robust-sigma") and not page.is_visible("#f-robust-epsilon")
    page.check("#f-intermediate-enabled")
    assert page.is_visible("#f-intermediate-epochs")
    page.select_option("#f-task", "pawsx")  # PAWS-X: 7 languages, no Swahili, no AmericasNLI
    assert not page.is_visible("input[name='eval.languages'][value='sw']")
    assert page.is_visible("input[name='eval.languages'][value='ja']")
    assert not page.is_visible("[data-field='eval.extra']")
    page.click("[data-preset=all]")
    assert page.inner_text("#lang-count") == "7 of 7 selected"
    page.check("input[name='grid.methods'][value='none']")
    page.check("input[name='grid.methods'][value='adv']")
    page.fill("#f-seeds", "1-3")
    assert page.inner_text("#launch-submit") == "Launch sweep (6 runs)"
    assert page.is_visible("#f-robust-epsilon") and not page.is_visible("#f-robust-sigma")
    page.uncheck("#f-intermediate-enabled")
    page.check("#f-grid-intermediate")  # with and without STS-B doubles the sweep, shows its settings
    assert page.inner_text("#launch-submit") == "Launch sweep (12 runs)"
    assert page.is_visible("#f-intermediate-epochs")
    screenshot(page, "launch-pawsx-sweep")


def test_run_named_script_tag_is_shown_as_text(page: Any, dashboard: Dashboard) -> None:
    alerts: list[str] = []

    def on_dialog(dialog: Any) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    fill_tiny_run(
        page, dashboard, XSS_NAME, ("en",), model=str(dashboard.tiny_model.parent / "no-model-for-xss-test")
    )
    page.click("#launch-submit")
    page.wait_for_url("**/runs/*")
    assert page.inner_text("#run-title") == XSS_NAME
    run_id = int(page.url.rsplit("/", 1)[1])
    wait_for(
        lambda: api(dashboard, f"/api/runs/{run_id}")["status"] == "failed", 60, "the run to fail", dashboard
    )
    # the page reloads itself when the run finishes (run_live.js); a reload of our own could race it
    page.locator("#run-error .msg").wait_for(state="visible", timeout=30_000)
    assert page.locator("#retry-run").is_visible()
    screenshot(page, "run-failed")
    page.goto(f"{dashboard.url}/")
    row = page.locator(f"tr[data-run-id='{run_id}'] td.name")
    assert row.inner_text().strip() == XSS_NAME
    screenshot(page, "runs-table")
    assert alerts == []


def test_launch_tiny_run_from_form_finishes_with_one_bar_per_language(
    page: Any, dashboard: Dashboard
) -> None:
    languages = ("en", "de", "sw")
    fill_tiny_run(page, dashboard, "tiny run from the form", languages)
    assert page.inner_text("#launch-submit") == "Launch run"
    screenshot(page, "launch-form")
    page.click("#launch-submit")
    page.wait_for_url("**/runs/*")
    run_id = int(page.url.rsplit("/", 1)[1])
    if page.locator("#live").count():
        screenshot(page, "run-live")
    # the page refreshes itself while the run trains and reloads when it finishes
    page.wait_for_selector("#chart-languages[data-rendered=true]", timeout=180_000)
    assert page.locator(".sub [data-role=status]").inner_text() == "succeeded"
    assert bar_count(page, "chart-languages") == len(languages)
    assert page.locator("#chart-languages .trace.bars .point").count() == len(languages)
    rows = page.locator("#scores-table tbody tr")
    assert rows.count() == len(languages)
    assert "Swahili" in page.inner_text("#scores-table")
    assert page.locator("#chart-loss[data-rendered=true]").count() == 1
    screenshot(page, "run-succeeded")
    # every chart downloads as PNG and SVG (plotly.js toImage)
    for fmt in ("png", "svg"):
        with page.expect_download() as download:
            page.click(f"[data-download='chart-languages'][data-format='{fmt}']")
        assert download.value.suggested_filename == f"run-{run_id}-accuracy.{fmt}"
    # exports
    csv_text = page.request.get(f"{dashboard.url}/runs/{run_id}/export.csv").text()
    assert csv_text.count("\n") == 1 + len(languages)
    # "Clone and edit" opens the form pre-filled with this run's config
    page.click("text=Clone and edit")
    assert page.input_value("#f-model") == str(dashboard.tiny_model)
    assert page.is_checked("input[name='eval.languages'][value='sw']")
    assert not page.is_checked("input[name='eval.languages'][value='fr']")
    assert page.input_value("#f-train-max_train_examples") == "48"


@pytest.fixture(scope="module")
def sweep(browser: Any, dashboard: Dashboard) -> dict[str, Any]:
    """A sweep of two methods × two seeds launched from the form; waits until all four runs succeed."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    fill_tiny_run(page, dashboard, "sweep", ("en", "sw"))
    page.check("input[name='grid.methods'][value='none']")
    page.check("input[name='grid.methods'][value='rs_rp']")
    page.fill("#f-seeds", "1, 2")
    page.fill("#f-robust-sigma", "0.05")
    assert page.inner_text("#launch-submit") == "Launch sweep (4 runs)"
    page.click("#launch-submit")
    page.wait_for_url("**/?experiment=*")
    experiment = int(page.url.rsplit("=", 1)[1])
    assert page.locator("#runs-table tbody tr[data-run-id]").count() == 4
    screenshot(page, "runs-sweep-live")
    # the table's badges and progress bars follow the runs without a reload
    page.wait_for_selector("#runs-table [data-role=status]:has-text('succeeded')", timeout=120_000)

    def all_done() -> bool:
        runs = api(dashboard, f"/api/runs?experiment={experiment}")["items"]
        failed = [r for r in runs if r["status"] in ("failed", "cancelled")]
        assert not failed, failed[0]["error_message"]
        return len(runs) == 4 and all(r["status"] == "succeeded" for r in runs)

    wait_for(all_done, 240, "the sweep's four runs", dashboard)
    page.reload()
    screenshot(page, "runs-sweep-done")
    context.close()
    return {"experiment": experiment}


def test_sweep_of_two_methods_and_two_seeds_compares_with_error_bars(
    page: Any, dashboard: Dashboard, sweep: dict[str, Any]
) -> None:
    page.goto(f"{dashboard.url}/?experiment={sweep['experiment']}")
    page.click("text=Compare this experiment's runs")
    page.wait_for_selector("#chart-compare[data-rendered=true]")
    traces = page.evaluate(
        "() => document.getElementById('chart-compare').data"
        ".map(t => ({x: t.x, err: t.error_y.array, n: t.customdata}))"
    )
    assert len(traces) == 2  # baseline and rs_rp, each over two seeds
    for trace in traces:
        assert len(trace["err"]) == len(trace["x"]) == 2
        assert all(n == 2 for _label, n in trace["n"])
    assert page.locator("#chart-compare .errorbar").count() == 4
    assert page.locator("#chart-deltas[data-rendered=true]").count() == 1
    assert page.locator("#compare-table thead th.num").count() == 2  # one column per group
    screenshot(page, "compare")
    latex_href = page.locator("a:has-text('LaTeX')").get_attribute("href") or ""
    latex = page.request.get(dashboard.url + latex_href).text()
    assert "\\toprule" in latex and "rs\\_rp" in latex


def test_share_link_opens_same_chart_without_controls_in_fresh_context(
    page: Any, browser: Any, dashboard: Dashboard, sweep: dict[str, Any]
) -> None:
    page.goto(f"{dashboard.url}/compare?experiment={sweep['experiment']}")
    page.wait_for_selector("#chart-compare[data-rendered=true]")
    owner_bars = bar_count(page, "chart-compare")
    page.click("#share-open")
    page.select_option("#share-expiry", "7")
    page.click("#share-create")
    page.wait_for_url("**/shares?created=*")
    url = page.input_value("#created-url")
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 22  # ≥ 128 bits in URL-safe base64
    screenshot(page, "shares")

    visitor = browser.new_context(viewport={"width": 1400, "height": 900})
    assert visitor.cookies() == []
    shared = visitor.new_page()
    shared.goto(url)
    shared.wait_for_selector("#chart-compare[data-rendered=true]")
    assert bar_count(shared, "chart-compare") == owner_bars
    assert shared.locator("#compare-table thead th.num").count() == 2
    for control in ("#share-open", "#cancel-run", "#retry-run", "a[href='/launch']", "#baseline-form"):
        assert shared.locator(control).count() == 0, control
    assert "read-only" in shared.inner_text("header")
    screenshot(shared, "shared-compare")

    # the owner revokes the link; the visitor's next visit is refused
    page.locator(f"tr[data-token='{token}'] button:has-text('Revoke')").click()
    assert shared.goto(url).status == 404
    assert "does not work" in shared.inner_text("h1")
    screenshot(shared, "shared-revoked")
    visitor.close()


def overlapping_labels(page: Any, chart: str) -> list[tuple[str, str]]:
    """Pairs of x-axis tick labels and legend entries of a chart whose boxes intersect on screen."""
    boxes = page.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} .xtick text, #${id} .legend .traces`)]
            .map(el => { const r = el.getBoundingClientRect();
                         return {t: el.textContent, l: r.left, r: r.right, top: r.top, b: r.bottom}; })""",
        chart,
    )
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if (
                a["l"] < b["r"] - 1
                and b["l"] < a["r"] - 1
                and a["top"] < b["b"] - 1
                and b["top"] < a["b"] - 1
            ):
                pairs.append((a["t"], b["t"]))
    return pairs


def test_fifteen_languages_and_four_groups_stay_readable(page: Any, dashboard: Dashboard) -> None:
    """Dense, paper-sized results (XNLI's 15 languages, 4 methods × 2 seeds) written as the worker would."""
    from bench.demo_runs import seed_runs

    ids = seed_runs(8, seed=7, name_prefix="paper")
    page.goto(f"{dashboard.url}/runs/{ids[0]}")
    page.wait_for_selector("#chart-languages[data-rendered=true]")
    assert bar_count(page, "chart-languages") == 15
    assert overlapping_labels(page, "chart-languages") == []
    screenshot(page, "run-fifteen-languages")

    page.goto(f"{dashboard.url}/compare?runs={','.join(map(str, ids))}")
    page.wait_for_selector("#chart-compare[data-rendered=true]")
    assert len(page.evaluate("() => document.getElementById('chart-compare').data")) == 4
    for chart in ("chart-compare", "chart-deltas", "chart-tiers"):
        assert overlapping_labels(page, chart) == [], chart
    # one best (highlighted) cell per language row at least, plus tiers and average
    assert page.locator("#compare-table td.best").count() >= 15
    screenshot(page, "compare-four-groups")
    page.goto(f"{dashboard.url}/?page_size=25")
    screenshot(page, "runs-table-many")


def test_twenty_five_languages_and_generalized_matrix_render(page: Any, dashboard: Dashboard) -> None:
    """XNLI plus AmericasNLI (25 bars, rotated labels), the L×L heatmap and a two-stage loss curve."""
    from bench.demo_runs import seed_full_run

    run_id = seed_full_run()
    page.goto(f"{dashboard.url}/runs/{run_id}")
    page.wait_for_selector("#chart-generalized[data-rendered=true]")
    assert bar_count(page, "chart-languages") == 25
    # 25 names do not fit side by side: they are turned 45° (their upright boxes overlap, the text does not)
    assert page.evaluate("() => document.getElementById('chart-languages').layout.xaxis.tickangle") == -45
    assert page.locator("#chart-loss .scatterlayer .trace").count() == 2  # STS-B stage and task stage
    screenshot(page, "run-twenty-five-languages")
    chart_png = SCREENSHOTS / "run-twenty-five-languages-chart.png"
    page.locator("#results .chart-block").screenshot(path=str(chart_png))


def test_run_page_follows_progress_and_loss_then_shows_results(page: Any, dashboard: Dashboard) -> None:
    """The worker's writes (progress, loss points, final scores) appear on an open run page by themselves."""
    import random

    from backend import store
    from bench.demo_runs import demo_result
    from worker.training.config import RunConfig

    config = RunConfig.model_validate(
        {"name": "live", "task": "xnli", "model": "m", "eval": {"languages": ["en", "de"]}}
    )
    run = store.create_run(
        config, queue="not-consumed", task_id="live-test"
    )  # no task sent: we play the worker
    claim = store.claim_run(run.id, "test-host", "live-test")
    assert claim is not None
    page.goto(f"{dashboard.url}/runs/{run.id}")
    assert page.locator(".sub [data-role=status]").inner_text() == "running"
    store.record_progress(
        run.id,
        attempt=claim.attempt,
        progress=0.4,
        stage="task",
        points=[("task", "loss", step, 1.1 - 0.01 * step) for step in range(1, 21)],
    )
    bar = "document.querySelector('#live .progress > span')"
    page.wait_for_function(f"() => parseFloat({bar}.style.width) === 40")
    page.wait_for_function(
        "() => (document.getElementById('chart-loss').data || [{x: []}])[0]?.x?.length === 20"
    )
    assert "task stage · 40%" in page.inner_text("#live-label")
    page.wait_for_timeout(800)  # let the bar's CSS transition finish before the screenshot
    screenshot(page, "run-live-training")
    store.complete_run(run.id, demo_result(config, random.Random(0)), attempt=claim.attempt)
    page.wait_for_selector("#chart-languages[data-rendered=true]", timeout=15_000)  # reloaded on finish
    assert bar_count(page, "chart-languages") == 2
    assert page.locator("#live").count() == 0
