"""`xlt import PATH --experiment NAME --study`: the study spec read from the imported runs themselves.

A study launched here stores `{base, methods, seeds, baseline}` (backend.services.studies
submit_study); runs trained elsewhere carry the same facts in their configs, so the spec is inferred:
methods are the runs' method labels (RunConfig.method_label, the baseline first, then the paper's
order), seeds the runs' seeds, and base the config of the baseline run with the lowest seed (its
`eval.split` is the split the report reads).

An import is refused (a Problem each, nothing stored) when the report could not be built from it or
would quietly mislead: no run of the baseline method, a single method, runs that mix tasks, source
languages or evaluated splits, or two runs of one method and seed (the report pairs runs by seed
and would keep only one). Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.importers.model import ImportedRun, Problem
from worker.training.config import METHOD_LABELS, RunConfig, label_for_method

DEFAULT_BASELINE = label_for_method(None, "none")  # "baseline", as backend.services.studies.BASELINE


def _method_order(label: str) -> tuple[int, str]:
    """The paper's grid order (backend.services.studies.PAPER_METHODS), unknown labels after it."""
    return (METHOD_LABELS.index(label) if label in METHOD_LABELS else len(METHOD_LABELS), label)


def _shared(configs: Sequence[RunConfig]) -> str | None:
    """Why these runs cannot be one study's (they differ in what a report holds fixed), or None."""
    differing: dict[str, list[str]] = {
        "tasks": sorted({c.task for c in configs}),
        "source languages": sorted({c.source_language for c in configs}),
        "evaluated splits": sorted({c.eval.split for c in configs}),
    }
    mixed = [f"{what} {', '.join(values)}" for what, values in differing.items() if len(values) > 1]
    if not mixed:
        return None
    return (
        "a study's runs differ only in method and seed; these mix "
        + "; ".join(mixed)
        + " (import each group as its own study)"
    )


def infer_study(
    runs: Sequence[ImportedRun], where: str, baseline: str = DEFAULT_BASELINE
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The spec of a study made of `runs` compared with `baseline`, or None and every reason why
    not (each a Problem located at `where`, the imported path)."""
    configs = [r.config for r in runs]
    labels = [c.method_label for c in configs]
    methods = sorted(set(labels), key=_method_order)
    problems: list[Problem] = []
    if baseline not in methods:
        problems.append(
            Problem(
                where,
                None,
                f"study: no imported run has the baseline method '{baseline}'; the runs' methods are "
                f"{', '.join(methods)} (choose one with --baseline)",
            )
        )
    elif len(methods) < 2:
        problems.append(
            Problem(
                where,
                None,
                f"study: every imported run is of method '{baseline}'; a study compares other "
                "methods with the baseline, so import runs of at least one more method",
            )
        )
    if why := _shared(configs):
        problems.append(Problem(where, None, f"study: {why}"))
    sources: dict[tuple[str, int], list[str]] = {}
    for run, config, label in zip(runs, configs, labels, strict=True):
        sources.setdefault((label, config.train.seed), []).append(run.source)
    problems += [
        Problem(
            where,
            None,
            f"study: {len(found)} runs of method '{label}' with seed {seed} ({', '.join(found)}); "
            "the report pairs runs by seed, so keep one",
        )
        for (label, seed), found in sources.items()
        if len(found) > 1
    ]
    if problems:
        return None, problems
    first = min(
        (c for c, label in zip(configs, labels, strict=True) if label == baseline), key=lambda c: c.train.seed
    )
    base = first.model_dump(mode="json", exclude={"name"})
    spec = {
        "base": base,
        "methods": [baseline, *(m for m in methods if m != baseline)],
        "seeds": sorted({c.train.seed for c in configs}),
        "baseline": baseline,
    }
    return spec, []
