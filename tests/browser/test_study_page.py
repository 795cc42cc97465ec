"""A study's page in real Chromium, as a viewer: progress over the method × seed grid, the verdict
that finds the planted low-resource effect, intervals beside every delta, the excluded run and the
rule, with no CSP violation or script error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import StudyServer
from tests.factories import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_viewer_reads_the_study_report(page: Any, study_server: StudyServer) -> None:
    problems: list[str] = []
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));"
    )
    # "Failed to load resource" is /favicon.ico's 404; what CSP blocks is reported as a violation.
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    url, viewer = study_server.url, study_server.viewer
    page.goto(f"{url}/experiments/{study_server.experiment_id}")
    page.fill("#login-name", viewer.name)
    page.fill("#login-password", viewer.password)
    page.click("#login-submit")
    page.wait_for_url(f"{url}/experiments/{study_server.experiment_id}")

    assert page.inner_text("#progress-label") == "17 of 18 finished"
    assert page.locator("#study-grid tbody tr").count() == 3
    assert page.locator("#study-grid .warning-mark").count() == 1
    low = page.locator("table.verdicts[data-method=rs_rp] tr[data-aggregate=low]")
    assert low.locator(".verdict").inner_text() == "improves"
    assert "points on low-resource languages" in low.locator("td.sentence").inner_text()
    high = page.locator("table.verdicts[data-method=rs_rp] tr[data-aggregate=high]")
    assert high.locator(".verdict").inner_text() == "no detectable change"
    stsb = page.locator("table.verdicts[data-method=stsb] .verdict").all_inner_texts()
    assert set(stsb) == {"no detectable change"}

    sw = page.locator("#language-table tbody tr", has_text="Swahili")
    assert sw.locator(".delta.up").count() == 1  # rs_rp's planted +3 points, coloured
    assert sw.locator(".ci").count() == 2  # an interval beside each method's delta
    german = page.locator("#language-table tbody tr", has_text="German")
    assert german.locator(".delta.up, .delta.down").count() == 0  # no effect planted: never coloured
    muted = german.locator(".delta.noise").first.evaluate("e => getComputedStyle(e).color")
    assert muted == "rgb(107, 114, 128)"

    excluded = page.inner_text("#report-excluded")
    assert "Excluded runs (1)" in excluded and "did not learn" in excluded and "stuck_at_chance" in excluded
    assert page.locator("#item-table tbody tr").count() > 0
    assert page.locator("#study-report .btn", has_text="LaTeX").get_attribute("href").endswith("report.tex")
    screenshot(page, "study-report")
    assert problems == []
