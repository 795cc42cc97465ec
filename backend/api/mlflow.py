"""/api/2.0/mlflow: the part of MLflow's tracking REST API that scripts use to log runs
(backend.services.mlflow_compat), in MLflow's request and response shapes.

Errors answer as MLflow's server does, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": …}`
with its HTTP status, so the MLflow client raises the exception it would raise against MLflow; any
other path under /api/2.0/mlflow is ENDPOINT_NOT_FOUND, and artifacts (/api/2.0/mlflow-artifacts)
are refused the same way: XLT Lab keeps none.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from backend.access import CurrentUser
from backend.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized, Unavailable
from backend.services import mlflow_compat as mlflow
from backend.services import mlflow_views as views
from backend.services.mlflow_entities import (
    DEFAULT_EXPERIMENT_ID,
    ExperimentOut,
    KeyValue,
    MetricIn,
    MetricOut,
    Millis,
    MlflowRun,
    RunInfo,
)

# MLflow's error codes and the HTTP status its server answers each with (mlflow/exceptions.py).
HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "RESOURCE_CONFLICT": 409,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "TEMPORARILY_UNAVAILABLE": 503,
}


def error_code(exc: DomainError) -> str:
    if isinstance(exc, mlflow.AlreadyExists):
        return "RESOURCE_ALREADY_EXISTS"
    for kind, code in (
        (NotFound, "RESOURCE_DOES_NOT_EXIST"),
        (Invalid, "INVALID_PARAMETER_VALUE"),
        (Forbidden, "PERMISSION_DENIED"),
        (Unauthorized, "UNAUTHENTICATED"),
        (Conflict, "RESOURCE_CONFLICT"),
        (Unavailable, "TEMPORARILY_UNAVAILABLE"),
    ):
        if isinstance(exc, kind):
            return code
    return "INVALID_PARAMETER_VALUE"


def mlflow_error(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=HTTP_STATUS.get(code, 400))


def _validation_message(exc: RequestValidationError) -> str:
    """MLflow's wording: "Missing value for required parameter 'x'" / "Invalid value … for parameter 'x'"."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query")]
        name = ".".join(loc) or "request"
        if err.get("type") == "missing":
            parts.append(f"Missing value for required parameter '{name}'")
        elif err.get("type") == "json_invalid":
            parts.append("Malformed JSON in the request body")
        else:
            parts.append(f"Invalid value {err.get('input')!r} for parameter '{name}': {err.get('msg')}")
    return "; ".join(parts) or "Invalid request"


class MlflowRoute(APIRoute):
    """Answers domain and validation errors of its handlers in MLflow's error format, and leaves
    unset fields out of responses (as protobuf's JSON does)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **{**kwargs, "response_model_exclude_none": True})

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return mlflow_error("INVALID_PARAMETER_VALUE", _validation_message(exc))
            except DomainError as exc:
                return mlflow_error(error_code(exc), exc.message)

        return route


router = APIRouter(prefix="/api/2.0", tags=["mlflow"], route_class=MlflowRoute)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the client also sends fields XLT Lab does not use


class _RunIn(_In):
    run_id: str | None = None
    run_uuid: str | None = None  # MLflow's older name, still sent

    @property
    def id(self) -> str:
        run_id = self.run_id or self.run_uuid
        if not run_id:
            raise Invalid("Missing value for required parameter 'run_id'")
        return run_id


class CreateExperimentIn(_In):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class SearchIn(_In):
    filter: str | None = None
    max_results: int = 1000
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


class SearchExperimentsIn(SearchIn):
    view_type: str | int | None = None


class CreateRunIn(_In):
    experiment_id: str = DEFAULT_EXPERIMENT_ID
    user_id: str | None = None
    run_name: str | None = None
    start_time: Millis | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class UpdateRunIn(_RunIn):
    status: str | None = None
    end_time: Millis | None = None
    run_name: str | None = None


class SearchRunsIn(SearchIn):
    experiment_ids: list[str] = Field(default_factory=list)
    run_view_type: str | int | None = None


class LogBatchIn(_RunIn):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class LogMetricIn(_RunIn, MetricIn):
    pass


class KeyValueIn(_RunIn, KeyValue):
    pass


class DeleteTagIn(_RunIn):
    key: str


def _deleted_only(view_type: str | int | None) -> bool:
    return view_type in ("DELETED_ONLY", 2)  # XLT Lab deletes nothing: such searches find nothing


# ── experiments ──────────────────────────────────────────────────────────────────────────────────


@router.post("/mlflow/experiments/create", summary="MLflow: create an experiment")
def create_experiment(body: CreateExperimentIn, user: CurrentUser) -> dict[str, str]:
    tags = {t.key: t.value for t in body.tags}
    return {"experiment_id": mlflow.create_experiment(body.name, tags=tags, actor=user)}


@router.get("/mlflow/experiments/get", summary="MLflow: an experiment by id")
def get_experiment(experiment_id: str) -> dict[str, ExperimentOut]:
    return {"experiment": views.get_experiment(experiment_id)}


@router.get("/mlflow/experiments/get-by-name", summary="MLflow: an experiment by name")
def get_experiment_by_name(experiment_name: str) -> dict[str, ExperimentOut]:
    return {"experiment": views.get_experiment_by_name(experiment_name)}


@router.post("/mlflow/experiments/search", summary="MLflow: search experiments")
def search_experiments(body: SearchExperimentsIn) -> dict[str, Any]:
    found, token = views.search_experiments(
        filter_string=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
        deleted_only=_deleted_only(body.view_type),
    )
    return {"experiments": found, **({"next_page_token": token} if token else {})}


# ── runs ─────────────────────────────────────────────────────────────────────────────────────────


@router.post("/mlflow/runs/create", summary="MLflow: start a run")
def create_run(body: CreateRunIn, user: CurrentUser) -> dict[str, MlflowRun]:
    tags = {t.key: t.value for t in body.tags}
    run = mlflow.create_run(
        body.experiment_id, run_name=body.run_name, start_time=body.start_time, tags=tags, actor=user
    )
    return {"run": run}


@router.post("/mlflow/runs/update", summary="MLflow: end or rename a run")
def update_run(body: UpdateRunIn, user: CurrentUser) -> dict[str, RunInfo]:
    info = mlflow.update_run(
        body.id, status=body.status, end_time=body.end_time, run_name=body.run_name, actor=user
    )
    return {"run_info": info}


@router.get("/mlflow/runs/get", summary="MLflow: a run with its params, metrics and tags")
def get_run(run_id: str | None = None, run_uuid: str | None = None) -> dict[str, MlflowRun]:
    return {"run": views.get_run(_RunIn(run_id=run_id, run_uuid=run_uuid).id)}


@router.post("/mlflow/runs/search", summary="MLflow: search runs")
def search_runs(body: SearchRunsIn) -> dict[str, Any]:
    found, token = views.search_runs(
        body.experiment_ids,
        filter_string=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
        deleted_only=_deleted_only(body.run_view_type),
    )
    return {"runs": found, **({"next_page_token": token} if token else {})}


@router.post("/mlflow/runs/log-batch", summary="MLflow: log metrics, params and tags at once")
def log_batch(body: LogBatchIn, user: CurrentUser) -> dict[str, Any]:
    mlflow.log_batch(body.id, metrics=body.metrics, params=body.params, tags=body.tags, actor=user)
    return {}


@router.post("/mlflow/runs/log-metric", summary="MLflow: log one metric value")
def log_metric(body: LogMetricIn, user: CurrentUser) -> dict[str, Any]:
    metric = MetricIn(key=body.key, value=body.value, timestamp=body.timestamp, step=body.step)
    mlflow.log_batch(body.id, metrics=[metric], actor=user)
    return {}


@router.post("/mlflow/runs/log-parameter", summary="MLflow: log one param")
def log_parameter(body: KeyValueIn, user: CurrentUser) -> dict[str, Any]:
    mlflow.log_batch(body.id, params=[KeyValue(key=body.key, value=body.value)], actor=user)
    return {}


@router.post("/mlflow/runs/set-tag", summary="MLflow: set a run tag")
def set_tag(body: KeyValueIn, user: CurrentUser) -> dict[str, Any]:
    mlflow.log_batch(body.id, tags=[KeyValue(key=body.key, value=body.value)], actor=user)
    return {}


@router.post("/mlflow/runs/delete-tag", summary="MLflow: delete a run tag")
def delete_tag(body: DeleteTagIn, user: CurrentUser) -> dict[str, Any]:
    mlflow.delete_tag(body.id, body.key, actor=user)
    return {}


@router.get("/mlflow/metrics/get-history", summary="MLflow: every logged value of a metric")
def get_metric_history(
    metric_key: str,
    run_id: str | None = None,
    run_uuid: str | None = None,
    max_results: int | None = Query(None, ge=1, le=1_000_000),
    page_token: str | None = None,
) -> dict[str, Any]:
    metrics: list[MetricOut]
    metrics, token = views.metric_history(
        _RunIn(run_id=run_id, run_uuid=run_uuid).id,
        metric_key,
        max_results=max_results,
        page_token=page_token,
    )
    return {"metrics": metrics, **({"next_page_token": token} if token else {})}


# ── everything else ──────────────────────────────────────────────────────────────────────────────

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/mlflow/{path:path}", methods=ANY_METHOD, include_in_schema=False)
def unknown_endpoint(path: str) -> Response:
    return mlflow_error("ENDPOINT_NOT_FOUND", f"XLT Lab does not implement /api/2.0/mlflow/{path}")


@router.api_route("/mlflow-artifacts/{path:path}", methods=ANY_METHOD, include_in_schema=False)
def artifacts(path: str) -> Response:
    return mlflow_error("ENDPOINT_NOT_FOUND", "XLT Lab keeps no artifacts: log files elsewhere")
