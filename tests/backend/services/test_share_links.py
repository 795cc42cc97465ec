"""backend.services.share_links: a link shows exactly what its view names, and nothing once gone."""

from __future__ import annotations

from typing import Any

import pytest

from backend import store
from backend.errors import Invalid, NotFound
from backend.services import runs, share_links
from backend.services.accounts import LOCAL_ADMIN
from backend.settings import Settings
from tests.factories import fake_result, tiny_config


def test_a_view_that_names_no_run_is_refused(embedded_settings: Settings) -> None:
    views: list[tuple[str, dict[str, Any]]] = [
        ("run", {"run_id": 1}),
        ("run", {"run_id": "1"}),
        ("compare", {"runs": []}),
        ("compare", {"runs": ["x"]}),
        ("experiment", {"experiment_id": 3}),
        ("dashboard", {}),
    ]
    for kind, view in views:
        with pytest.raises(Invalid):
            share_links.create_share_link(kind, view, actor=LOCAL_ADMIN)
    assert share_links.list_share_links(actor=LOCAL_ADMIN) == []


def test_a_shared_run_opens_until_revoked(embedded_settings: Settings) -> None:
    run_id = store.import_result(fake_result(tiny_config(), {"en": 0.8, "sw": 0.5}))
    link = share_links.create_share_link("run", {"run_id": run_id}, expires_in_days=1, actor=LOCAL_ADMIN)
    shared = share_links.open_share_link(link.token)
    assert shared.run is not None and [s.language for s in shared.run.scores] == ["en", "sw"]
    share_links.revoke_share_link(link.token, actor=LOCAL_ADMIN)
    with pytest.raises(NotFound, match="revoked"):
        share_links.open_share_link(link.token)
    with pytest.raises(NotFound):
        share_links.revoke_share_link("no-such-token", actor=LOCAL_ADMIN)


def test_an_experiment_link_before_any_run_finished_shows_an_empty_comparison(
    embedded_settings: Settings,
) -> None:
    sweep = runs.submit_sweep(name="s", base=tiny_config(), grid={"train.seed": [1, 2]}, actor=LOCAL_ADMIN)
    link = share_links.create_share_link(
        "experiment", {"experiment_id": sweep.experiment_id}, actor=LOCAL_ADMIN
    )
    shared = share_links.open_share_link(link.token)
    assert shared.comparison is not None and shared.comparison.groups == [] and shared.run_ids == []
