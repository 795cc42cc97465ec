"""/api/2.0/mlflow answers errors as MLflow's server does: {"error_code", "message"} with its HTTP
status, one test per shape (the MLflow client turns them into the MlflowException it would raise)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from backend import store
from tests.factories import Account, fake_result, tiny_config

API = "/api/2.0/mlflow"


def _error(response: Any, status: int, code: str, says: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    assert says in body["message"], body


def _run(client: TestClient, headers: dict[str, str] | None = None) -> str:
    created = client.post(f"{API}/runs/create", json={"experiment_id": "0"}, headers=headers)
    assert created.status_code == 200, created.text
    return str(created.json()["run"]["info"]["run_id"])


def test_unknown_runs_and_experiments_are_resource_does_not_exist(client: TestClient) -> None:
    _error(client.get(f"{API}/runs/get", params={"run_id": "77"}), 404, "RESOURCE_DOES_NOT_EXIST", "id=77")
    _error(client.get(f"{API}/runs/get", params={"run_id": "a1b2"}), 404, "RESOURCE_DOES_NOT_EXIST", "a1b2")
    _error(
        client.get(f"{API}/experiments/get", params={"experiment_id": "5"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "5",
    )
    missing = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
    _error(missing, 404, "RESOURCE_DOES_NOT_EXIST", "'nope'")
    lost = client.post(f"{API}/runs/log-metric", json={"run_id": "9", "key": "m", "value": 1, "timestamp": 1})
    _error(lost, 404, "RESOURCE_DOES_NOT_EXIST", "id=9")
    _error(
        client.post(f"{API}/runs/create", json={"experiment_id": "4"}), 404, "RESOURCE_DOES_NOT_EXIST", "id=4"
    )


def test_bad_values_are_invalid_parameter_value(client: TestClient) -> None:
    run_id = _run(client)
    ok = client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "2e-5"})
    assert ok.status_code == 200 and ok.json() == {}
    changed = client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "1e-3"})
    _error(changed, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed")
    not_a_number = {"run_id": run_id, "key": "acc_de", "value": "high", "timestamp": 1}
    _error(
        client.post(f"{API}/runs/log-metric", json=not_a_number), 400, "INVALID_PARAMETER_VALUE", "'value'"
    )
    no_time = client.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "m", "value": 1})
    _error(no_time, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'timestamp'")
    no_run = client.post(f"{API}/runs/set-tag", json={"key": "k", "value": "v"})
    _error(no_run, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'")
    path_key = client.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "a/../b", "value": "v"})
    _error(path_key, 400, "INVALID_PARAMETER_VALUE", "a/../b")
    status = client.post(f"{API}/runs/update", json={"run_id": run_id, "status": "DONE"})
    _error(status, 400, "INVALID_PARAMETER_VALUE", "'status'")
    too_many = {"run_id": run_id, "params": [{"key": f"p{i}", "value": "1"} for i in range(101)]}
    _error(client.post(f"{API}/runs/log-batch", json=too_many), 400, "INVALID_PARAMETER_VALUE", "at most 100")
    search = client.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": "metrics.a > 1 OR x"})
    _error(search, 400, "INVALID_PARAMETER_VALUE", "OR is not supported")
    malformed = client.post(
        f"{API}/runs/log-batch", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _error(malformed, 400, "INVALID_PARAMETER_VALUE", "Malformed JSON")
    run = store.get_run(int(run_id))
    assert run is not None and run.config == {
        "train": {"learning_rate": 2e-5}
    }  # the refused calls left nothing


def test_runs_xlt_lab_trained_take_no_mlflow_writes(client: TestClient) -> None:
    trained = store.import_result(fake_result(tiny_config(), {"en": 0.8, "de": 0.7}))
    write = client.post(f"{API}/runs/set-tag", json={"run_id": str(trained), "key": "k", "value": "v"})
    _error(write, 400, "INVALID_PARAMETER_VALUE", "trained by XLT Lab")
    read = client.get(f"{API}/runs/get", params={"run_id": str(trained)}).json()["run"]  # but reads fine
    assert {m["key"]: m["value"] for m in read["data"]["metrics"]} == {
        "accuracy_de": 0.7,
        "accuracy_en": 0.8,
        "average": 0.75,
    }
    assert {"key": "train.seed", "value": "1"} in read["data"]["params"]


def test_a_taken_name_is_resource_already_exists(client: TestClient) -> None:
    assert client.post(f"{API}/experiments/create", json={"name": "xnli"}).status_code == 200
    _error(
        client.post(f"{API}/experiments/create", json={"name": "xnli"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
        "xnli",
    )
    _error(
        client.post(f"{API}/experiments/create", json={"name": "Default"}), 400, "RESOURCE_ALREADY_EXISTS", ""
    )


def test_unimplemented_endpoints_and_artifacts_are_endpoint_not_found(client: TestClient) -> None:
    _error(client.post(f"{API}/runs/delete", json={"run_id": "1"}), 404, "ENDPOINT_NOT_FOUND", "runs/delete")
    _error(
        client.put("/api/2.0/mlflow-artifacts/artifacts/1/model.pkl"), 404, "ENDPOINT_NOT_FOUND", "artifacts"
    )


def test_with_accounts_no_token_is_unauthenticated_and_a_viewer_is_permission_denied(
    accounts: dict[str, Account], auth_client: TestClient
) -> None:
    anonymous = auth_client.post(f"{API}/runs/create", json={})
    _error(anonymous, 401, "UNAUTHENTICATED", "token")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    wrong = auth_client.get(
        f"{API}/runs/get", params={"run_id": "1"}, headers={"Authorization": "Bearer nope"}
    )
    _error(wrong, 401, "UNAUTHENTICATED", "not valid")
    viewer = accounts["vera"].headers
    _error(
        auth_client.post(f"{API}/runs/create", json={}, headers=viewer), 403, "PERMISSION_DENIED", "member"
    )
    run_id = _run(auth_client, accounts["alice"].headers)
    other = auth_client.post(
        f"{API}/runs/update", json={"run_id": run_id, "status": "KILLED"}, headers=accounts["bob"].headers
    )
    _error(other, 403, "PERMISSION_DENIED", "owner")
    admin = auth_client.post(
        f"{API}/runs/update", json={"run_id": run_id, "status": "KILLED"}, headers=accounts["admin"].headers
    )
    assert admin.status_code == 200 and admin.json()["run_info"]["status"] == "KILLED"


def test_retrying_an_mlflow_run_without_a_complete_config_is_a_conflict_not_a_crash(
    client: TestClient,
) -> None:
    run_id = _run(client)
    client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "2e-5"})
    retried = client.post(f"/api/runs/{run_id}/retry")
    assert retried.status_code == 409 and "logged from MLflow" in retried.json()["message"]
