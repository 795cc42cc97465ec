"""Shared views (`/s/{token}` and its exports) on the real app: exactly the link's view, and nothing of
the server: no traceback, filesystem path, worker host, environment or owner; a local model shows as
its folder name. Typed views: a view that is none of run/compare/experiment never makes a 500.
Experiment links are frozen to the runs they had; every link expires within XLT_SHARE_LINK_MAX_DAYS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.settings import Settings
from tests.factories import data_dir, embedded, fake_result, tiny_config

SECRET_TRACE = 'Traceback (most recent call last):\n  File "/srv/xlt/worker/tasks.py", line 1\nOSError: boom'
SECRET_MESSAGE = "OSError: /srv/lab/private-models/xlmr-ours does not appear to have a file named config.json"
WORKER = "gpu-node-17.internal:4242"


def _share(client: TestClient, kind: str, view: dict, **extra: object) -> str:
    response = client.post("/api/share-links", json={"kind": kind, "view": view, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _shared_texts(client: TestClient, token: str, formats: tuple[str, ...]) -> list[str]:
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    texts = [page.text]
    for fmt in formats:
        export = client.get(f"/s/{token}/export.{fmt}")
        assert export.status_code == 200, fmt
        texts.append(export.text)
    return texts


def _local_model(tmp_path: Path) -> str:
    return str(tmp_path / "models" / "xlmr-ours")  # under XLT_MODEL_DIRS (the tests' temp folder)


def test_a_shared_failed_run_shows_no_traceback_path_host_or_environment(
    client: TestClient, embedded_settings: Settings, tmp_path: Path
) -> None:
    model = _local_model(tmp_path)
    config = tiny_config(
        model=model, robust={"method": "rs_da", "synonyms_path": f"{data_dir()}/synonyms/x.json"}
    )
    run_id = client.post("/api/runs", json=config).json()["id"]
    claim = store.claim_run(run_id, WORKER, "t")
    assert claim is not None
    store.fail_run(run_id, SECRET_MESSAGE, SECRET_TRACE, attempt=claim.attempt)
    own = client.get(f"/runs/{run_id}").text
    assert "Traceback" in own and WORKER in own  # the lab's members see everything …

    token = _share(client, "run", {"run_id": run_id})
    for text in _shared_texts(client, token, ("json", "csv")):  # … a visitor none of it
        for secret in (
            "Traceback",
            "/srv/",
            "tasks.py",
            WORKER,
            "gpu-node",
            model,
            str(data_dir()),
            str(tmp_path),
        ):
            assert secret not in text, secret
    page = client.get(f"/s/{token}").text
    assert "xlmr-ours" in page  # the local model by its folder name
    assert "The run failed (OSError)" in page


def test_a_shared_succeeded_run_and_its_exports_show_no_environment_or_path(
    client: TestClient, embedded_settings: Settings, tmp_path: Path
) -> None:
    result = fake_result(tiny_config(model=_local_model(tmp_path)), {"en": 0.8, "sw": 0.5})
    result.environment = {"platform": "Linux-6.1-secret-kernel", "device": "cuda (H100)", "torch": "2.5"}
    run_id = store.import_result(result)
    assert "secret-kernel" in client.get(f"/runs/{run_id}").text
    token = _share(client, "run", {"run_id": run_id})
    for text in _shared_texts(client, token, ("json", "csv")):
        assert "secret-kernel" not in text and str(tmp_path) not in text and str(data_dir()) not in text
    assert client.get(f"/s/{token}/export.json").json()["run"]["model"] == "xlmr-ours"


def test_a_shared_comparison_of_local_models_shows_folder_names_only(
    client: TestClient, embedded_settings: Settings, tmp_path: Path
) -> None:
    ids = [
        store.import_result(
            fake_result(tiny_config(model=model, train={"seed": seed}), {"en": 0.8, "sw": acc})
        )
        for model, acc in ((_local_model(tmp_path), 0.5), ("/opt/other/xlmr-ours", 0.6))
        for seed in (1, 2)
    ]
    baseline = client.get("/api/compare", params={"runs": ",".join(map(str, ids))}).json()["groups"][0]["key"]
    assert str(tmp_path) in baseline  # the owner's comparison names the folder
    token = _share(client, "compare", {"runs": ids, "baseline": baseline})
    for text in _shared_texts(client, token, ("json", "csv", "tex")):
        assert str(tmp_path) not in text and "/opt/other" not in text and str(data_dir()) not in text
    shared = client.get(f"/s/{token}/export.json").json()
    keys = [g["key"] for g in shared["groups"]]
    assert len(keys) == 2 and len(set(keys)) == 2 and all("xlmr-ours" in k for k in keys)
    assert shared["baseline"] == keys[0]  # the baseline survives as run:<id>, whatever the labels read


@pytest.mark.parametrize(
    ("kind", "view", "field"),
    [
        ("compare", {"runs": ["x"]}, "view"),
        ("compare", {"runs": []}, "view"),
        ("compare", {"runs": [2**70]}, "view"),
        ("run", {"run_id": 1, "runs": ["x"]}, "view"),
        ("run", {"run_id": "1"}, "view"),
        ("experiment", {"experiment_id": 1, "runs": [1]}, "view"),
        ("dashboard", {}, "kind"),
    ],
)
def test_a_view_of_the_wrong_shape_is_422(
    client: TestClient, embedded_settings: Settings, kind: str, view: dict, field: str
) -> None:
    store.import_result(fake_result(tiny_config(), {"en": 0.8}))
    response = client.post("/api/share-links", json={"kind": kind, "view": view})
    assert response.status_code == 422 and field in response.json()["message"], response.text
    assert client.get("/api/share-links").json() == []


def test_a_stored_view_of_no_known_shape_lists_and_opens_as_gone_never_500(
    client: TestClient, embedded_settings: Settings
) -> None:
    tokens = [
        store.create_share_link(kind, view).token
        for kind, view in (("compare", {"runs": ["x"]}), ("experiment", {"runs": ["x"]}), ("run", {}))
    ]
    for token in tokens:
        assert client.get(f"/s/{token}").status_code == 404
        assert client.get(f"/s/{token}/export.csv").status_code == 404
    assert client.get("/shares").status_code == 200
    listed = client.get("/api/share-links")
    assert listed.status_code == 200 and [link["view"] for link in listed.json()] == [None, None, None]


def test_an_experiment_link_is_frozen_to_the_runs_it_had(
    client: TestClient, embedded_settings: Settings
) -> None:
    sweep = client.post("/api/sweeps", json={"base": tiny_config(), "grid": {"train.seed": [1, 2, 3]}}).json()
    first, second, later = sweep["run_ids"]
    for run_id, acc in ((first, 0.5), (second, 0.6)):
        store.complete_run(run_id, fake_result(tiny_config(train={"seed": 1}), {"en": 0.8, "sw": acc}))
    token = _share(client, "experiment", {"experiment_id": sweep["experiment_id"]})
    store.complete_run(later, fake_result(tiny_config(train={"seed": 3}), {"en": 0.9, "sw": 0.9}))
    shared = client.get(f"/s/{token}/export.json").json()
    assert [g["run_ids"] for g in shared["groups"]] == [[first, second]]
    assert client.get(f"/s/{token}").status_code == 200
    link = client.get("/api/share-links").json()[0]
    assert link["view"] == {
        "experiment_id": sweep["experiment_id"],
        "baseline": None,
        "runs": [first, second],
    }


def test_every_link_expires_within_the_cap(client: TestClient, embedded_settings: Settings) -> None:
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8}))
    link = client.post("/api/share-links", json={"kind": "run", "view": {"run_id": run_id}}).json()
    expires = datetime.fromisoformat(link["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)
    for days in (91, 1e9):
        response = client.post(
            "/api/share-links", json={"kind": "run", "view": {"run_id": run_id}, "expires_in_days": days}
        )
        assert response.status_code == 422 and "expires_in_days" in response.json()["message"]
    infinite = client.post(
        "/api/share-links",
        content=f'{{"kind": "run", "view": {{"run_id": {run_id}}}, "expires_in_days": Infinity}}',
        headers={"content-type": "application/json"},
    )
    assert infinite.status_code == 422
    form = client.post("/shares", data={"kind": "run", "run_id": str(run_id), "expires_in_days": "365"})
    assert form.status_code == 422


def test_the_cap_is_a_setting(tmp_path: Path) -> None:
    from backend.app import create_app

    with embedded(tmp_path / "xlt", share_link_max_days="2"), TestClient(create_app()) as client:
        run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8}))
        view = {"kind": "run", "view": {"run_id": run_id}}
        assert client.post("/api/share-links", json=view | {"expires_in_days": 3}).status_code == 422
        assert client.post("/api/share-links", json=view | {"expires_in_days": 2}).status_code == 201


def test_exports_of_the_real_app_neutralise_spreadsheet_formulas(
    client: TestClient, embedded_settings: Settings
) -> None:
    run_id = store.import_result(
        fake_result(tiny_config(name='=HYPERLINK("http://evil.example")'), {"en": 0.8})
    )
    token = _share(client, "run", {"run_id": run_id})
    for path in (f"/runs/{run_id}/export.csv", f"/s/{token}/export.csv"):
        row = client.get(path).text.splitlines()[1]
        assert row.startswith(f"{run_id},\"'=HYPERLINK(") and ",=" not in row, row
