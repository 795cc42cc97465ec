"""A team server (accounts on) in real Chromium: log in through /login, see the runs, and the run and
compare pages draw their charts under the Content-Security-Policy with no violation in the console."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import TeamServer
from tests.factories import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def watch_console(page: Any) -> list[str]:
    """Console errors and uncaught exceptions, and every CSP violation the page reports.

    "Failed to load resource" lines are the browser noting a non-2xx answer (our own 401 for the wrong
    password, /favicon.ico's 404); what CSP blocks is reported as a violation, which is kept.
    """
    problems: list[str] = []
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));"
    )

    def on_console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_logging_in_shows_the_runs_and_charts_render_without_csp_violations(
    page: Any, team_server: TeamServer
) -> None:
    problems = watch_console(page)
    url, member = team_server.url, team_server.member
    run_id = team_server.run_ids[0]
    page.goto(f"{url}/runs/{run_id}")
    assert page.url == f"{url}/login?next=%2Fruns%2F{run_id}"
    page.fill("#login-name", member.name)
    page.fill("#login-password", "not the password")
    page.click("#login-submit")
    assert "Wrong user name or password." in page.inner_text("#login-error")
    page.fill("#login-password", member.password)
    page.click("#login-submit")
    page.wait_for_url(f"{url}/runs/{run_id}")
    page.wait_for_selector("#chart-languages[data-rendered=true]")
    page.wait_for_selector("#chart-loss[data-rendered=true]")
    assert "maria · member" in page.inner_text("#whoami")
    with page.expect_download() as download:  # plotly's PNG export works under the CSP
        page.click("[data-download=chart-languages][data-format=png]")
    assert download.value.suggested_filename.endswith(".png")
    screenshot(page, "team-run")

    page.goto(f"{url}/")
    assert page.locator("#runs-table tbody tr[data-run-id]").count() == len(team_server.run_ids)
    page.check(f"input[name=runs][value='{team_server.run_ids[0]}']")
    page.check(f"input[name=runs][value='{team_server.run_ids[2]}']")
    page.click("#compare-selected")
    page.wait_for_selector("#chart-compare[data-rendered=true]")
    page.wait_for_selector("#chart-heatmap[data-rendered=true]")
    page.select_option("#baseline-select", index=1)  # compare.js, not an inline handler, reloads
    page.wait_for_url("**baseline=*")
    page.wait_for_selector("#chart-deltas[data-rendered=true]")
    screenshot(page, "team-compare")
    assert problems == []

    page.click("#logout")
    page.wait_for_url(f"{url}/login")
    page.goto(f"{url}/")
    assert page.url.startswith(f"{url}/login")
    assert [c["name"] for c in page.context.cookies()] == []
