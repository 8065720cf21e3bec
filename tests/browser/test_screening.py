"""In a real browser: an officer screens a street vendor and reads why, per programme; an admin changes
the Kartu Prakerja age limit, reads the simulation, publishes and watches re-screening finish."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from srs.core import clock
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import Programme
from srs.programmes.seed import seed_catalogue
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD
from tests.programmes.conftest import make_client

pytestmark = pytest.mark.browser


def _born(age: int) -> date:
    return date(clock.today().year - age, 1, 1)


def _prepare(app) -> dict[str, int]:
    with app.test_request_context():
        seed_catalogue("x")
        vendor = make_client(
            "35.16.08.2003",
            full_name="Sri Wahyuni",
            date_of_birth=_born(34),
            occupation="street vendor",
            work_status="informal",
            monthly_income=2_600_000,
            household_size=4,
            in_education=False,
            poverty_status="near_poor",
            welfare_decile=5,
        )
        make_client(
            "35.16.12.2008", full_name="Pak Harjo", sex="male", date_of_birth=_born(66), in_education=False
        )
        ids = {
            "vendor": vendor.id,
            "prakerja": db.session.scalar(select(Programme.id).where(Programme.code == "ID-PRAKERJA")),
        }
        commit()
    return ids


def test_officer_screens_a_street_vendor_and_reads_the_reasons(app, demo, page):
    ids = _prepare(app)
    sign_in(page, "officer.id1", DEMO_PASSWORD)
    page.goto(f"/clients/{ids['vendor']}/screening")
    page.click("[data-testid=screen-now]")
    page.wait_for_selector("[data-testid=group-eligible]")
    eligible = page.inner_text("[data-testid=group-eligible]")
    assert "BPJS Ketenagakerjaan for non-wage workers (BPU)" in eligible
    assert "Kartu Prakerja" in eligible
    pbi = page.inner_text("[data-testid=result-ID-JKN-PBI]")
    assert "welfare decile 5 is above the limit 4" in pbi
    assert "Near miss" in pbi
    assert "Not eligible" in page.inner_text("[data-testid=group-not_eligible] h2")
    bpu = page.inner_text("[data-testid=result-ID-BPJSTK-BPU]")
    assert "age 34 is between 15 and 65" in bpu


def test_admin_changes_the_prakerja_age_limit_simulates_and_publishes(app, demo, page):
    ids = _prepare(app)
    sign_in(page, "admin", DEMO_PASSWORD)
    page.goto(f"/admin/programmes/{ids['prakerja']}/rules")
    page.fill("input[name='w-r.0']", "70")
    page.fill("input[name=note]", "Upper age limit 70")
    page.click("[data-testid=save-draft]")
    page.wait_for_selector("[data-testid=simulation]")
    assert page.inner_text("[data-testid=became]") == "1"
    assert "Kabupaten Mojokerto" in page.inner_text("[data-testid=simulation]")
    assert "Pak Harjo" in page.inner_text("[data-testid=simulation]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=publish]")
    page.wait_for_selector("progress")
    with app.app_context():
        SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)
    expect(page.locator("[data-rescreen-state]")).to_have_text("done")
    assert page.inner_text("[data-rescreen-new]") == "1"
    assert page.get_attribute("progress", "value") == "1"
