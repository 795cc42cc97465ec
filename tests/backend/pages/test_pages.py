"""HTML pages through the ASGI app (embedded SQLite): escaping, filters and paging, form errors,
share links (create, view read-only, revoke, expire) and exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from backend import store
from bench.demo_runs import seed_runs
from tests.factories import fake_result, tiny_config
from worker.training.results import RunWarning


def test_runs_table_escapes_names_and_pages_server_side(client: TestClient):
    ids = seed_runs(12, name_prefix="<b>x</b>")
    page = client.get("/", params={"page_size": 5, "page": 2, "sort": "id"})
    assert page.status_code == 200
    assert "&lt;b&gt;x&lt;/b&gt;" in page.text and "<b>x</b>" not in page.text
    assert [f'data-run-id="{i}"' in page.text for i in ids[5:10]] == [True] * 5
    assert f'data-run-id="{ids[0]}"' not in page.text
    filtered = client.get("/", params={"method": "rs_rp"})
    assert filtered.text.count("<tr data-run-id=") == 3


def test_runs_table_offers_the_status_and_method_vocabulary_and_tells_the_js_which_statuses_are_live(
    client: TestClient,
):
    text = client.get("/").text
    assert 'data-active-statuses="queued running"' in text
    for value in ("cancelled", "stsb+adv", "pawsx"):
        assert f'<option value="{value}"' in text
    assert client.get("/", params={"status": "done"}).status_code == 422
    assert client.get("/runs/live.json", params={"ids": "1,x"}).status_code == 422


def test_run_page_and_exports(client: TestClient):
    (run_id,) = seed_runs(1)
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert 'id="chart-languages"' in page.text and "Swahili" in page.text and 'id="share-open"' in page.text
    csv = client.get(f"/runs/{run_id}/export.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 16
    assert client.get(f"/runs/{run_id}/export.json").json()["run"]["id"] == run_id
    assert client.get("/runs/999999").status_code == 404


def test_launch_form_errors_come_back_next_to_fields_with_422(client: TestClient):
    form = {"task": "xnli", "model": "m", "source_language": "en", "train.learning_rate": "0", "seeds": "1"}
    response = client.post("/launch", data=form)
    assert response.status_code == 422
    assert 'id="error-train-learning_rate"' in response.text
    assert store.list_runs().total == 0


def test_launch_form_creates_a_run_or_a_sweep(client: TestClient):
    form = {
        "task": "xnli",
        "model": "m",
        "source_language": "en",
        "eval.languages": ["en", "de"],
        "seeds": "7",
        "train.device": "cpu",
    }
    run = client.post("/launch", data=form, follow_redirects=False)
    assert run.status_code == 303 and run.headers["location"].startswith("/runs/")
    sweep = client.post(
        "/launch", data=form | {"seeds": "1, 2", "grid.methods": ["none", "adv"]}, follow_redirects=False
    )
    assert sweep.status_code == 303 and sweep.headers["location"].startswith("/?experiment=")
    experiment = int(sweep.headers["location"].rsplit("=", 1)[1])
    assert store.list_runs(experiment_id=experiment).total == 4
    clone = client.get(run.headers["location"].replace("/runs/", "/launch?from="))
    assert 'value="de" data-tier="high" checked' in clone.text


def test_launch_form_as_a_study_opens_the_study_page_and_needs_the_plain_method(client: TestClient):
    form = {
        "task": "xnli",
        "model": "m",
        "source_language": "en",
        "eval.languages": ["en", "sw"],
        "seeds": "1-3",
        "grid.methods": ["none", "rs_rp"],
        "grid.intermediate": "1",
        "study": "1",
    }
    assert "data-study-preset" in client.get("/launch").text
    study = client.post("/launch", data=form, follow_redirects=False)
    assert study.status_code == 303 and study.headers["location"].startswith("/experiments/")
    experiment_id = int(study.headers["location"].rsplit("/", 1)[1])
    assert store.get_experiment(experiment_id).kind == "study"  # type: ignore[union-attr]
    methods = {r.method for r in store.list_runs(experiment_id=experiment_id, page_size=100).items}
    assert methods == {"baseline", "rs_rp", "stsb", "stsb+rs_rp"}
    assert store.list_runs(experiment_id=experiment_id).total == 12
    refused = client.post("/launch", data=form | {"grid.methods": ["rs_rp", "adv"]})
    assert refused.status_code == 422 and 'id="error-grid-methods"' in refused.text
    assert "include it" in refused.text


def test_launch_form_shows_where_method_defaults_come_from_and_takes_the_adv_objective(client: TestClient):
    page = client.get("/launch").text
    assert "scripts/train_xnli.sh:27" in page and "perturb.py:26-35" in page
    assert '<option value="clean+adv"' in page
    form = {
        "task": "xnli",
        "model": "m",
        "source_language": "en",
        "eval.languages": ["en"],
        "seeds": "1",
        "train.device": "cpu",
        "robust.method": "adv",
        "robust.adv_objective": "clean+adv",
    }
    run = client.post("/launch", data=form, follow_redirects=False)
    assert run.status_code == 303, [line for line in run.text.splitlines() if "error" in line]
    run_id = int(run.headers["location"].rsplit("/", 1)[1])
    stored = store.get_run(run_id)
    assert stored is not None and stored.config["robust"]["adv_objective"] == "clean+adv"


def test_share_link_is_read_only_and_can_be_revoked_or_expire(client: TestClient):
    ids = seed_runs(4)
    created = client.post(
        "/shares", data={"kind": "compare", "runs": ",".join(map(str, ids))}, follow_redirects=False
    )
    token = created.headers["location"].split("created=")[1]
    assert len(token) >= 22
    shared = client.get(f"/s/{token}")
    assert shared.status_code == 200 and 'id="chart-compare"' in shared.text
    for control in ('id="share-open"', 'href="/launch"', 'id="baseline-form"', "/cancel", "/retry"):
        assert control not in shared.text
    assert "\\toprule" in client.get(f"/s/{token}/export.tex").text
    client.post(f"/shares/{token}/revoke")
    revoked = client.get(f"/s/{token}")
    assert revoked.status_code == 404 and "revoked" in revoked.text and 'href="/launch"' not in revoked.text
    expired = store.create_share_link("run", {"run_id": ids[0]}, datetime.now(UTC) - timedelta(seconds=1))
    assert client.get(f"/s/{expired.token}").status_code == 404


def test_plotly_is_served_locally(client: TestClient):
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200 and len(response.content) > 1_000_000


def test_cancel_and_retry_buttons(client: TestClient):
    form = {"task": "xnli", "model": "m", "source_language": "en", "eval.languages": ["en"], "seeds": "1"}
    run_id = int(
        client.post("/launch", data=form, follow_redirects=False).headers["location"].rsplit("/", 1)[1]
    )
    assert 'id="cancel-run"' in client.get(f"/runs/{run_id}").text
    client.post(f"/runs/{run_id}/cancel")
    page = client.get(f"/runs/{run_id}").text
    assert 'id="cancel-run"' not in page and 'id="retry-run"' in page
    retried = client.post(f"/runs/{run_id}/retry", follow_redirects=False)
    new_id = int(retried.headers["location"].rsplit("/", 1)[1])
    assert new_id != run_id and store.get_run(new_id).status == "queued"  # type: ignore[union-attr]


def test_shared_run_page_shows_results_without_controls(client: TestClient):
    (run_id,) = seed_runs(1)
    created = client.post(
        "/shares", data={"kind": "run", "run_id": str(run_id), "expires_in_days": "1"}, follow_redirects=False
    )
    token = created.headers["location"].split("created=")[1]
    listing = client.get(created.headers["location"]).text
    assert f"/s/{token}" in listing and "Revoke" in listing
    shared = client.get(f"/s/{token}").text
    assert 'id="chart-languages"' in shared and "Swahili" in shared
    for control in ("Clone and edit", 'id="share-open"', 'href="/launch"', f"/runs/{run_id}/cancel"):
        assert control not in shared
    assert client.get(f"/s/{token}/export.csv").text.count("\n") == 16


def test_a_run_stuck_at_chance_is_marked_in_the_runs_table_its_live_row_and_its_page(client: TestClient):
    result = fake_result(tiny_config(), {"en": 0.34, "de": 0.33})
    result.warnings = [RunWarning(code="stuck_at_chance", message="the task stage did not learn")]
    stuck = store.import_result(result)
    healthy = store.import_result(fake_result(tiny_config(), {"en": 0.8, "de": 0.7}))
    table = client.get("/").text
    rows = {rid: table.split(f'<tr data-run-id="{rid}"')[1].split("</tr>")[0] for rid in (stuck, healthy)}
    assert "⚠ stuck at chance" in rows[stuck] and 'title="the task stage did not learn"' in rows[stuck]
    assert 'data-role="warnings" title="" hidden' in rows[healthy]
    live = {r["id"]: r for r in client.get(f"/runs/live.json?ids={stuck},{healthy}").json()}
    assert live[stuck]["stuck"] and live[stuck]["warnings"] == ["the task stage did not learn"]
    assert not live[healthy]["stuck"]
    page = client.get(f"/runs/{stuck}").text
    assert 'id="run-warnings"' in page and "stuck_at_chance</span>: the task stage did not learn" in page
    assert 'id="run-warnings"' not in client.get(f"/runs/{healthy}").text


def test_compare_page_shows_every_deltas_interval_and_colours_none_inside_the_noise(client: TestClient):
    """The newcomer's first comparison: two seeds each, differences of up to 1.9 points that change
    sign from seed to seed. Every delta gets its interval; none is coloured as an effect."""
    runs = []
    for method, seed, sw in (("none", 1, 0.35), ("none", 2, 0.33), ("rs_rp", 1, 0.369), ("rs_rp", 2, 0.32)):
        config = tiny_config(robust={"method": method}, train={"device": "cpu", "seed": seed})
        runs.append(store.import_result(fake_result(config, {"en": 0.34 + seed / 100, "sw": sw})))
    page = client.get("/compare", params={"runs": ",".join(map(str, runs))}).text
    table = page.split('id="compare-table"')[1].split("</table>")[0]
    assert table.count('class="delta noise"') == 2 and 'class="delta up"' not in table
    assert table.count('class="ci"') == 2 and "[" in table.split('class="ci"')[1]
