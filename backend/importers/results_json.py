"""`results.json` files (what `xlt train --out DIR` and the bench scripts write) → finished runs.

The file already is the payload the worker stores; reading it here only checks that its config is
a valid RunConfig and its scores use known language codes, so a folder of earlier `xlt train`
outputs imports like any other format, in the same single transaction.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from backend.importers.model import ImportedRun, Problem, language_problem
from worker.training.config import RunConfig, format_validation_error
from worker.training.results import RunResult


def read_results_json(path: Path, problems: list[Problem]) -> ImportedRun | None:
    return parse_results_json(path.read_bytes(), str(path), problems, default_name=path.parent.name)


def parse_results_json(
    data: bytes | str, source: str, problems: list[Problem], default_name: str = ""
) -> ImportedRun | None:
    """One results.json document (a file's bytes, or a request body); problems are located at `source`.
    A run without a name gets `default_name` (a file's folder)."""
    try:
        result = RunResult.model_validate_json(data)
        config = RunConfig.model_validate(result.config)
    except ValidationError as exc:
        problems.append(Problem(source, None, format_validation_error(exc)))
        return None
    bad = [why for s in result.scores if (why := language_problem(s.language, s.dataset))]
    if bad:
        problems.extend(Problem(source, None, why) for why in dict.fromkeys(bad))
        return None
    if result.status != "succeeded":
        problems.append(Problem(source, None, f"status is {result.status}; only finished runs import"))
        return None
    result.config = config.model_dump(mode="json")
    if not config.name and default_name:
        result.config["name"] = default_name
    return ImportedRun(source=source, origin="results.json", result=result)
