"""In a real browser: agency staff open their inbox, open a delivered referral and accept it."""

import pytest

from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Referral
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD
from tests.factories import make_programme, refer
from tests.referrals.conftest import make_client, run_jobs

pytestmark = pytest.mark.browser


def test_agency_staff_accept_a_delivered_referral_in_the_inbox(app, page, demo):
    with app.test_request_context():
        referral_id = refer(make_client(full_name="Sri Wahyuni"), make_programme()).id
        commit()
        run_jobs()
    sign_in(page, "agency.bpjstk", DEMO_PASSWORD)
    assert page.inner_text("[data-testid=home-inbox]").count("1 waiting for a decision") == 1
    page.click("text=Open the inbox")
    assert page.inner_text("[data-testid=count-new]") == "1"
    page.click(f"[data-testid=referral-row] >> text='{referral_id}'")
    assert "Sri Wahyuni" in page.inner_text("[data-testid=shared-fields]")
    page.fill("[data-testid=accept-form] textarea[name=note]", "Registration appointment on Monday")
    page.click("[data-testid=accept]")
    page.wait_for_selector(".flash-success")
    assert page.inner_text("[data-testid=referral-status]") == "Accepted"
    assert "Registration appointment on Monday" in page.inner_text("[data-testid=history]")
    with app.app_context():
        assert db.session.get(Referral, referral_id).status == "accepted"


def test_inbox_works_on_a_phone(app, phone_page, demo):
    with app.test_request_context():
        refer(make_client(), make_programme())
        commit()
        run_jobs()
    sign_in(phone_page, "agency.bpjstk", DEMO_PASSWORD)
    phone_page.goto("/referrals/inbox")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
