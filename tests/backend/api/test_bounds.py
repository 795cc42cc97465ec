"""Bounded input on the real app (embedded stack): non-finite numbers, sizes, strings that fit their
columns, ids that are no ids, sweeps counted before they are built. Each is a 4xx naming the field,
and nothing is stored."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from backend import store
from backend.models import Experiment, Run, RunTag, User
from backend.schemas import MAX_DB_INT, NAME_MAX_LENGTH, TAG_MAX_LENGTH, USER_NAME_MAX_LENGTH
from backend.settings import Settings
from tests.factories import tiny_config
from worker.training.config import MAX_PATH_LENGTH


def _post_raw(client: TestClient, path: str, body: str) -> tuple[int, dict]:
    """Python's json module writes (and FastAPI reads) the non-standard literals Infinity and NaN."""
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ('"robust": {"method": "rs_rp", "sigma": Infinity}', "robust.sigma"),
        ('"train": {"learning_rate": NaN}', "train.learning_rate"),
        ('"train": {"epochs": -Infinity}', "train.epochs"),
        ('"intermediate": {"epochs": Infinity}', "intermediate.epochs"),
    ],
)
def test_non_finite_numbers_are_422_naming_the_field(
    client: TestClient, embedded_settings: Settings, fragment: str, field: str
) -> None:
    status, body = _post_raw(client, "/api/runs", '{"task": "xnli", "model": "m", ' + fragment + "}")
    assert status == 422
    assert f"{field}: Input should be a finite number" in body["message"]
    assert client.get("/api/runs").json()["total"] == 0


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"train": {"epochs": 10_000}}, "train.epochs"),
        ({"train": {"batch_size": 100_000}}, "train.batch_size"),
        ({"train": {"max_seq_len": 1_000_000}}, "train.max_seq_len"),
        ({"train": {"learning_rate": 5}}, "train.learning_rate"),
        ({"train": {"seed": 2**31}}, "train.seed"),
        ({"robust": {"method": "rs_da", "copies": 10_000}}, "robust.copies"),
        ({"eval": {"languages": ["en", "qu"]}}, "eval.languages"),  # AmericasNLI's, not XNLI's
        ({"eval": {"languages": ["en", "en"]}}, "eval.languages"),
        ({"name": "n" * (NAME_MAX_LENGTH + 1)}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"model": "m" * (MAX_PATH_LENGTH + 1)}, "model"),
        ({"train": {"train_split": "x" * 33}}, "train.train_split"),
    ],
)
def test_unbounded_work_and_oversized_strings_are_422_naming_the_field(
    client: TestClient, embedded_settings: Settings, override: dict, field: str
) -> None:
    response = client.post("/api/runs", json=tiny_config(**override))
    assert response.status_code == 422, response.text
    assert field in response.json()["message"]
    assert client.get("/api/runs").json()["total"] == 0


def test_sweep_size_is_checked_before_the_grid_is_expanded(
    client: TestClient, embedded_settings: Settings
) -> None:
    grid = {f"train.seed{i}": [1, 2] for i in range(15)}  # 32,768 combinations, never built
    grid |= {"train.seed": list(range(40))}
    started = time.perf_counter()
    response = client.post("/api/sweeps", json={"base": tiny_config(), "grid": grid})
    assert response.status_code == 422
    assert "1310720 runs is more than the 1000 a sweep may have" in response.json()["message"]
    assert time.perf_counter() - started < 2
    assert client.get("/api/experiments").json() == []


def test_tags_notes_and_sweep_names_are_bounded_by_their_columns(
    client: TestClient, embedded_settings: Settings
) -> None:
    run_id = client.post("/api/runs", json=tiny_config()).json()["id"]
    for tags in (["t" * (TAG_MAX_LENGTH + 1)], ["a\x00"], [f"t{i}" for i in range(51)]):
        response = client.put(f"/api/runs/{run_id}/tags", json={"tags": tags})
        assert response.status_code == 422 and "tags" in response.json()["message"]
    assert client.put(f"/api/runs/{run_id}/tags", json={"tags": [" ok "]}).json() == ["ok"]
    assert client.put(f"/api/runs/{run_id}/notes", json={"notes": "x\x00"}).status_code == 422
    long_tag = client.post("/api/runs", params={"tag": "t" * 101}, json=tiny_config())
    assert long_tag.status_code == 422 and "tags" in long_tag.json()["message"]
    sweep = {"name": "s" * 201, "base": tiny_config(), "grid": {"train.seed": [1]}}
    assert client.post("/api/sweeps", json=sweep).status_code == 422


def test_bounds_match_the_database_columns() -> None:
    assert RunTag.__table__.c.tag.type.length == TAG_MAX_LENGTH
    assert Run.__table__.c.name.type.length == NAME_MAX_LENGTH
    assert Experiment.__table__.c.name.type.length == NAME_MAX_LENGTH
    assert Run.__table__.c.model.type.length == MAX_PATH_LENGTH
    assert User.__table__.c.name.type.length == USER_NAME_MAX_LENGTH


BAD_IDS = ["²", str(2**70), str(MAX_DB_INT + 1), "1e3", "-1", "0", "Infinity", "NaN"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_that_are_no_ids_are_4xx_everywhere(
    client: TestClient, embedded_settings: Settings, bad: str
) -> None:
    paths = [
        f"/api/runs/{bad}",
        f"/api/runs/{bad}/scores",
        f"/api/runs/{bad}/history",
        f"/api/experiments/{bad}",
        f"/api/runs?experiment={bad}",
        *([f"/api/runs?seed={bad}"] if bad != "0" else []),  # seed 0 is a seed
        f"/api/runs?page={bad}",
        f"/api/compare?runs={bad}",
        f"/api/compare?experiment={bad}",
        f"/api/compare?runs=1&baseline=run:{bad}",
        f"/runs/{bad}",
        f"/runs/{bad}/export.csv",
        f"/experiments/{bad}",
        f"/?experiment={bad}",
        f"/compare?runs={bad}",
        f"/launch?from={bad}",
    ]
    for path in paths:
        status = client.get(path).status_code
        assert 400 <= status < 500, (path, status)
    for path in (f"/api/runs/{bad}/cancel", f"/api/runs/{bad}/retry", f"/api/runs?experiment_id={bad}"):
        status = client.post(path, json=tiny_config()).status_code
        assert 400 <= status < 500, (path, status)
    assert client.put(f"/api/runs/{bad}/tags", json={"tags": []}).status_code in (404, 422)


@pytest.mark.parametrize("value", ["%00", "a%00b", "Infinity", "NaN", "x" * 600])
def test_any_string_parameter_with_nul_or_nonsense_is_4xx(
    client: TestClient, embedded_settings: Settings, value: str
) -> None:
    for name in ("task", "model", "method", "tag", "owner", "q", "sort", "status"):
        status = client.get(f"/api/runs?{name}={value}").status_code
        assert status < 500, (name, status)
    for path in (f"/api/runs/{value}", f"/s/{value}", f"/runs/{value}"):
        status = client.get(path).status_code
        assert 400 <= status < 500, (path, status)
    assert 400 <= client.delete(f"/api/share-links/{value}").status_code < 500


def test_stored_config_that_no_longer_validates_fails_at_claim_instead_of_sticking(
    client: TestClient, embedded_settings: Settings
) -> None:
    from sqlalchemy import update

    from backend.db import session

    run_id = client.post("/api/runs", json=tiny_config()).json()["id"]
    with session() as s:  # as stored before the bound existed
        config = json.loads(json.dumps(tiny_config(robust={"method": "rs_rp", "sigma": 1e9})))
        s.execute(update(Run).where(Run.id == run_id).values(config=config))
    assert store.claim_run(run_id, "host:1", None) is None
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "failed" and "robust.sigma" in run["error_message"]


@pytest.mark.postgres
@pytest.mark.redis
def test_on_postgresql_what_it_cannot_store_is_a_4xx_never_a_database_error(
    pg_redis_settings: Settings,
) -> None:
    """PostgreSQL refuses NUL characters, strings longer than their column and integers beyond 32 bits,
    all of which SQLite takes: every one of them is stopped before the database."""
    from backend.app import create_app

    with TestClient(create_app()) as client:
        run_id = client.post("/api/runs", json=tiny_config()).json()["id"]
        refused = [
            client.post("/api/runs", json=tiny_config(name="n" * 201)),
            client.post("/api/runs", json=tiny_config(name="a\x00b")),
            client.post("/api/runs", json=tiny_config(train={"seed": 2**31})),
            client.post("/api/runs", params={"tag": "t\x00"}, json=tiny_config()),
            client.put(f"/api/runs/{run_id}/tags", json={"tags": ["t" * 101]}),
            client.put(f"/api/runs/{run_id}/tags", json={"tags": ["a\x00"]}),
            client.put(f"/api/runs/{run_id}/notes", json={"notes": "x\x00"}),
            client.post(
                "/api/sweeps", json={"name": "s\x00", "base": tiny_config(), "grid": {"train.seed": [1]}}
            ),
            client.get("/api/runs", params={"q": "a\x00"}),
            client.get("/api/runs", params={"experiment": 2**31}),
            client.get(f"/api/runs/{2**31}"),
            client.get("/api/runs", params={"page": 10**9}),
            client.delete("/api/share-links/" + "t" * 65),
        ]
        assert [r.status_code for r in refused if not 400 <= r.status_code < 500] == []
        assert client.get(f"/api/runs/{2**31 - 1}").status_code == 404
        assert client.get("/api/runs").json()["total"] == 1
