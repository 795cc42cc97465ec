"""Confined paths at submit, on the real app: local data, synonym tables and local model folders only
under XLT_DATA_DIR / XLT_MODEL_DIRS, split names plain identifiers, hub ids that look like hub ids.
Each refusal is a 422 naming the field, stores nothing, and never says whether a path exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.settings import Settings
from tests.factories import data_dir, tiny_config


def _refused(client: TestClient, config: dict, field: str) -> str:
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith(f"{field}:") or f" {field}:" in message, message
    assert client.get("/api/runs").json()["total"] == 0
    return message


@pytest.mark.parametrize(
    ("section", "field"),
    [("train", "train_split"), ("train", "dev_split"), ("eval", "split")],
)
@pytest.mark.parametrize("split", ["../../etc/passwd", "../train", "a/b", "train.en", ""])
def test_a_split_that_is_not_a_plain_name_is_422_naming_the_field(
    client: TestClient, embedded_settings: Settings, section: str, field: str, split: str
) -> None:
    _refused(client, tiny_config(**{section: {field: split}}), f"{section}.{field}")


@pytest.mark.parametrize(
    "outside",
    ["/etc", "/", "/tmp", f"{data_dir()}/../..", f"{data_dir()}/xnli/../../../etc", "relative/data"],
)
def test_a_data_dir_outside_the_data_root_is_422_naming_data_dir(
    client: TestClient, embedded_settings: Settings, outside: str
) -> None:
    message = _refused(client, tiny_config(data={"source": "local", "dir": outside}), "data.dir")
    assert "XLT_DATA_DIR" in message and outside not in message


def test_data_dirs_under_the_root_are_accepted(client: TestClient, embedded_settings: Settings) -> None:
    for inside in (str(data_dir()), f"{data_dir()}/xnli", f"{data_dir()}/"):
        assert (
            client.post("/api/runs", json=tiny_config(data={"source": "local", "dir": inside})).status_code
            == 201
        )


def test_a_synonym_table_outside_the_data_root_is_422(
    client: TestClient, embedded_settings: Settings
) -> None:
    robust = {"method": "rs_da", "synonyms_path": "/etc/passwd"}
    _refused(client, tiny_config(robust=robust), "robust.synonyms_path")
    hub_data = {"source": "hf", "dir": "/etc"}  # the table's default folder, also with data from the hub
    _refused(client, tiny_config(data=hub_data, robust={"method": "rs_da"}), "data.dir")
    inside = {"method": "rs_da", "synonyms_path": f"{data_dir()}/synonyms/counterfitted_neighbors.json"}
    assert client.post("/api/runs", json=tiny_config(robust=inside)).status_code == 201


@pytest.mark.parametrize(
    "model",
    [
        "/etc",
        "/root/.cache/huggingface",
        "../models/x",
        "./tiny",
        "a/b/c",
        "org/../name",
        "~/models/x",
        "a--b",
    ],
)
def test_a_model_outside_the_model_roots_or_unlike_a_hub_id_is_422_naming_model(
    client: TestClient, embedded_settings: Settings, model: str
) -> None:
    _refused(client, tiny_config(model=model), "model")


def test_hub_ids_and_model_folders_under_the_roots_are_accepted(
    client: TestClient, embedded_settings: Settings, tmp_path: Path
) -> None:
    for model in ("xlm-roberta-base", "microsoft/mdeberta-v3-base", str(tmp_path / "my-model")):
        assert client.post("/api/runs", json=tiny_config(model=model)).status_code == 201, model


def test_a_refusal_reads_the_same_whether_the_path_exists_or_not(
    client: TestClient, embedded_settings: Settings
) -> None:
    answers = {
        client.post("/api/runs", json=tiny_config(data={"source": "local", "dir": d})).json()["message"]
        for d in ("/etc", "/no-such-folder-anywhere")
    }
    models = {
        client.post("/api/runs", json=tiny_config(model=m)).json()["message"]
        for m in ("/etc", "/no-such-folder-anywhere")
    }
    assert len(answers) == 1 and len(models) == 1


def test_without_xlt_data_dir_local_data_is_refused(tmp_path: Path) -> None:
    from backend.app import create_app
    from tests.factories import embedded

    with embedded(tmp_path / "xlt", data_dir=""), TestClient(create_app()) as client:
        message = _refused(client, tiny_config(), "data.dir")
        assert "XLT_DATA_DIR is not set" in message


def test_a_sweep_point_outside_the_roots_is_refused_and_nothing_is_stored(
    client: TestClient, embedded_settings: Settings
) -> None:
    body = {"base": tiny_config(), "grid": {"model": ["xlm-roberta-base", "/etc"]}}
    response = client.post("/api/sweeps", json=body)
    assert response.status_code == 422 and "runs[1]: model:" in response.json()["message"]
    assert client.get("/api/experiments").json() == []


def test_the_launch_form_shows_the_refusal_next_to_the_field(
    client: TestClient, embedded_settings: Settings
) -> None:
    form = {
        "task": "xnli",
        "model": "xlm-roberta-base",
        "data.source": "local",
        "data.dir": "/etc",
        "seeds": "1",
        "eval.languages": ["en", "de"],
    }
    response = client.post("/launch", data=form)
    assert response.status_code == 422
    assert "local data is read only under the server&#39;s data folder" in response.text
    assert client.get("/api/runs").json()["total"] == 0
