"""Groups of runs named by filters, for a comparison in one request:
`/api/compare?match=model%3Dxlm-roberta-base%26method%3Dstsb%2Brs_rp&match=…`.

Each `match` is itself a query string (`key=value&…`; a literal '&', '=' or '%' in a value written
%26, %3D, %25; '+' is a plus) over the runs list's filters (task, model, method, tag, seed,
experiment, status; status defaults to succeeded), so a script names "these six groups" the way it
filters the runs list, and the server finds and compares them in one round trip (MLflow needs one
search per group and leaves the statistics to the client). A key that is not a filter, a repeated
key or a value out of its column's bounds is a 422 naming it: a group that silently matched more
runs than meant would look like a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.errors import Invalid
from backend.schemas import MAX_DB_INT, TAG_MAX_LENGTH
from worker.training.results import RunStatus

MAX_MATCHES = 50  # groups in one comparison
MATCH_MAX_LENGTH = 2000  # characters of one match


class RunMatch(BaseModel):
    """One group: the runs that pass every filter given (at least one besides status)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str | None = Field(None, min_length=1, max_length=32)  # runs.task
    model: str | None = Field(None, min_length=1, max_length=500)  # runs.model
    method: str | None = Field(None, min_length=1, max_length=64)  # runs.method
    tag: str | None = Field(None, min_length=1, max_length=TAG_MAX_LENGTH)
    seed: int | None = Field(None, ge=0, le=MAX_DB_INT)
    experiment: int | None = Field(None, ge=1, le=MAX_DB_INT)
    status: RunStatus = "succeeded"

    def filters(self) -> dict[str, object]:
        """Keyword arguments of store.run_ids_matching."""
        return {
            "task": self.task,
            "model": self.model,
            "method": self.method,
            "tag": self.tag,
            "seed": self.seed,
            "experiment_id": self.experiment,
            "status": [self.status],
        }


def _parse_one(number: int, raw: str) -> RunMatch:
    where = f"match {number}"
    if len(raw) > MATCH_MAX_LENGTH:
        raise Invalid(f"{where}: longer than {MATCH_MAX_LENGTH} characters")
    # '&' and '=' separate, %XX escapes them; '+' stays a plus (method labels like stsb+rs_rp)
    pairs = [(unquote(k), unquote(v)) for k, _, v in (part.partition("=") for part in raw.split("&") if part)]
    if not pairs:
        raise Invalid(f"{where}: name the runs by filters, e.g. 'model=xlm-roberta-base&method=baseline'")
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise Invalid(f"{where}: '{key[:40]}' given twice")
        fields[key] = value
    if set(fields) <= {"status"}:
        raise Invalid(f"{where}: give at least one of task, model, method, tag, seed, experiment")
    try:
        return RunMatch.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "?"
        message = "not a filter (task, model, method, tag, seed, experiment, status)"
        if first["type"] != "extra_forbidden":
            message = str(first["msg"])
        raise Invalid(f"{where}: {key[:40]}: {message}") from None


def parse_run_matches(values: Iterable[str]) -> list[RunMatch]:
    """The groups in the order given; raises Invalid naming the first bad one."""
    matches = [_parse_one(i, raw) for i, raw in enumerate(values, start=1) if raw.strip()]
    if len(matches) > MAX_MATCHES:
        raise Invalid(f"match: at most {MAX_MATCHES} groups in one comparison")
    return matches
