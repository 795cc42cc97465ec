"""`xlt serve` says loudly when it listens beyond loopback without accounts."""

from __future__ import annotations

import pytest

from tests.factories import xlt_environment
from xlt.serve import warn_if_open


def test_binding_beyond_loopback_without_accounts_warns(capsys: pytest.CaptureFixture[str]) -> None:
    with xlt_environment(host="0.0.0.0", auth="off"):
        warn_if_open()
    assert "WARNING: listening on 0.0.0.0 WITHOUT accounts" in capsys.readouterr().err
    for host, auth in [("127.0.0.1", "off"), ("0.0.0.0", "auto"), ("0.0.0.0", "on")]:
        with xlt_environment(host=host, auth=auth):
            warn_if_open()
        assert capsys.readouterr().err == "", (host, auth)
