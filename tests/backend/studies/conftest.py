"""Fixtures of constructed studies; the builders (make_study_runs, PLANTED, NULL, LOW) live in
tests/factories.py, where the API and page tests of studies use them too."""

from __future__ import annotations

import pytest

from backend.studies.report import build_study_report
from backend.studies.report_models import StudyReport
from tests.factories import PLANTED, MakeRuns, make_study_runs


@pytest.fixture
def make_runs() -> MakeRuns:
    return make_study_runs


@pytest.fixture(scope="module")
def planted_report() -> StudyReport:
    """rs_rp: +3 points on sw and AmericasNLI's languages only, 5 seeds; stsb: no effect."""
    return build_study_report(make_study_runs(PLANTED, range(1, 6)), "baseline", item_resamples=500)
