"""In a real browser: an officer registers a woman (after a refused NIK) and finds clients by name."""

from __future__ import annotations

from datetime import date

import pytest

from srs.core.transaction import commit
from srs.registry import services
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD
from tests.registry.conftest import VILLAGE_ID1, nik_for, user, vn_payload

pytestmark = pytest.mark.browser


def test_register_a_woman_after_a_refused_nik_then_find_her(page, demo):
    nik = nik_for(date(1988, 6, 5), "female")
    sign_in(page, "officer.id1", DEMO_PASSWORD)
    page.click("[data-testid=register-link]")
    page.fill("input[name=full_name]", "Siti Aminah")
    page.select_option("select[name=sex]", "male")
    page.fill("input[name=date_of_birth]", "1988-06-05")
    page.select_option("select[name=id_type]", "nik")
    page.fill("input[name=id_number]", nik)
    page.fill("input[name=phone]", "0812 3456 7890")
    page.select_option("select[name=region_code]", VILLAGE_ID1)
    page.check("input[name=consent_given]")
    page.fill("input[name=consent_date]", "2026-01-10")
    page.click("[data-testid=save-client]")
    error = page.inner_text("#id_number-error")
    assert "belongs to a woman" in error and "sex typed is male" in error
    assert page.input_value("input[name=full_name]") == "Siti Aminah"
    page.select_option("select[name=sex]", "female")
    page.click("[data-testid=save-client]")
    assert page.inner_text("[data-testid=client-name]") == "Siti Aminah"
    assert nik in page.inner_text("[data-testid=full-id]")

    page.click("text=Home")
    page.fill("[data-testid=home-search]", "SITI AMINH")
    page.keyboard.press("Enter")
    results = page.inner_text("[data-testid=client-results]")
    assert "Siti Aminah" in results and nik not in results and nik[-4:] in results


def test_vietnamese_name_found_without_diacritics(page, app, demo):
    with app.test_request_context():
        services.register_client(vn_payload(full_name="Nguyễn Thị Hương"), user("officer.vn1"))
        commit()
    sign_in(page, "officer.vn1", DEMO_PASSWORD)
    page.fill("[data-testid=home-search]", "nguyen thi huong")
    page.keyboard.press("Enter")
    page.click("text=Nguyễn Thị Hương")
    assert page.inner_text("[data-testid=client-name]") == "Nguyễn Thị Hương"
