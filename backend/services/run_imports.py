"""Importing one finished run over the API: a results.json document (what `xlt train --out DIR`
writes) becomes a finished run owned by whoever sent it, read by the same importer and stored by
the same single transaction as `xlt import` (backend.importers.results_json, backend.store.imports).
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.errors import Invalid
from backend.importers.model import Problem
from backend.importers.results_json import parse_results_json
from backend.schemas import Principal, RunCreated
from backend.services.permissions import require_role
from backend.store.imports import import_results


def import_results_json(
    document: bytes | str,
    *,
    actor: Principal,
    experiment_name: str | None = None,
    tags: Sequence[str] = (),
) -> RunCreated:
    """Store the finished run of one results.json (tagged `imported` and `tags`; in the newest
    experiment called `experiment_name`, created if none). Raises Forbidden below the member role,
    Invalid naming every problem (nothing stored) for a document that is no finished run."""
    require_role(actor, "member", "importing a run")
    problems: list[Problem] = []
    imported = parse_results_json(document, "results.json", problems)
    if imported is None:
        raise Invalid("; ".join(p.message for p in problems) or "results.json: nothing to import")
    stored = import_results(
        [imported.result], experiment_name or None, tags=("imported", *tags), owner_id=actor.id
    )
    return RunCreated(
        id=stored.run_ids[0],
        status=imported.result.status,
        queue="import",
        experiment_id=stored.experiment_id,
    )
