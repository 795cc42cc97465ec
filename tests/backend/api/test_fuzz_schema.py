"""No server errors on bad input: schemathesis generates requests from the app's own OpenAPI schema
(valid and invalid bodies, parameters of every type, `²`, huge ints, NUL bytes, non-finite numbers…)
and sends them to the real app with accounts on, as an admin with an API token. Every answer must be
below 500. Bounded for CI (derandomized, a fixed number of examples per operation): at least 1,000
requests in well under a minute; the count is printed and checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from backend import store
from tests.factories import embedded, fake_result, make_account, tiny_config

EXAMPLES_PER_OPERATION = 32
MIN_REQUESTS = 1000


@pytest.fixture
def admin_schema(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """The auth-on app with runs, an experiment and a share link to find; its schema and the admin's
    Authorization header."""
    from backend.app import create_app

    with embedded(tmp_path / "xlt", auth="on"):
        admin = make_account("admin", "admin")
        for accuracy in (0.5, 0.6):
            store.import_result(fake_result(tiny_config(), {"en": 0.8, "sw": accuracy}))
        app = create_app()
        with TestClient(app) as client:
            sweep = {"base": tiny_config(), "grid": {"train.seed": [1, 2]}}
            assert client.post("/api/sweeps", json=sweep, headers=admin.headers).status_code == 201
            link = {"kind": "run", "view": {"run_id": 1}}
            assert client.post("/api/share-links", json=link, headers=admin.headers).status_code == 201
        yield schemathesis.openapi.from_asgi("/openapi.json", app, headers=admin.headers), admin.headers


def test_no_generated_request_gets_a_server_error(admin_schema: tuple[Any, dict[str, str]]) -> None:
    # schemathesis' own pytest integration (schema.parametrize) does not run under pytest 9: the
    # same strategies, driven by hypothesis here, one operation and generation mode at a time
    schema, headers = admin_schema
    sent: list[tuple[str, str, int]] = []
    errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in schemathesis.GenerationMode:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: Any) -> None:
                where = f"{case.method} {case.formatted_path} {case.query or ''} {str(case.body)[:200]}"
                try:  # the test client re-raises what the app did not handle: a 500 to a real client
                    status, text = (response := case.call(headers=headers)).status_code, response.text
                except Exception as exc:
                    status, text = 500, f"{type(exc).__name__}: {exc}"
                sent.append((case.method, case.formatted_path, status))
                if status >= 500:
                    errors.append(f"{where}: {text[:300]}")

            try:
                send()
            except Unsatisfiable:  # nothing to make invalid in an operation without input
                continue
    print(
        f"\nschemathesis: {len(sent)} generated requests over {len(operations)} operations, {len(errors)} 5xx"
    )
    assert not errors, "\n".join(errors[:20])
    assert len(sent) >= MIN_REQUESTS
