"""In a real browser: a supervisor reads the dashboard, drills into one district's overdue referrals
and downloads them as XLSX."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD
from tests.reports.data import build_world

pytestmark = pytest.mark.browser


def test_supervisor_drills_into_overdue_referrals_and_downloads_xlsx(page, app, demo, tmp_path):
    build_world(app)
    sign_in(page, "supervisor.id", DEMO_PASSWORD)
    page.click("nav >> text=Reports")
    page.wait_for_selector("[data-testid=funnel]")
    assert page.inner_text("[data-testid=kpi-registered] .kpi-value") == "3"
    assert page.inner_text("[data-testid=kpi-overdue-referrals] .kpi-value") == "1"
    assert page.locator("[data-testid=trend] rect").count() > 0

    page.click("[data-testid=district-table] tr[data-region='35.16'] [data-testid=district-overdue]")
    page.wait_for_selector("[data-testid=drilldown]")
    assert page.inner_text("[data-testid=list-title]") == "Overdue referrals"
    rows = page.locator("[data-testid=drilldown] tbody tr")
    assert rows.count() == 1 and "Eko Prasetyo" in rows.first.inner_text()

    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.suffix == ".xlsx"
    values = list(load_workbook(target).active.iter_rows(values_only=True))
    assert len(values) == 2 and values[1][2] == "Eko Prasetyo"


def test_dashboard_fits_a_phone(phone_page, app, demo):
    build_world(app)
    sign_in(phone_page, "supervisor.id", DEMO_PASSWORD)
    phone_page.goto("/reports/")
    phone_page.wait_for_selector("[data-testid=funnel]")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
