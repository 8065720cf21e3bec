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


def test_household_members_and_a_new_head(page, app, demo):
    """Register Siti, add her daughter (new person) and her husband (already a client), then make
    him the head: the profile shows everyone's relationship to him."""
    with app.test_request_context():
        joko = services.register_client(
            vn_payload(
                full_name="Joko Susilo", sex="male", date_of_birth="1984-01-01", region_code=VILLAGE_ID1
            )
            | {"id_type": "nik", "id_number": nik_for(date(1984, 1, 1), "male")},
            user("officer.id1"),
        ).client.id
        commit()
    sign_in(page, "officer.id1", DEMO_PASSWORD)
    page.click("[data-testid=register-link]")
    page.fill("input[name=full_name]", "Siti Aminah")
    page.select_option("select[name=sex]", "female")
    page.fill("input[name=date_of_birth]", "1988-06-05")
    page.select_option("select[name=id_type]", "nik")
    page.fill("input[name=id_number]", nik_for(date(1988, 6, 5), "female"))
    page.select_option("select[name=region_code]", VILLAGE_ID1)
    page.check("input[name=consent_given]")
    page.fill("input[name=consent_date]", "2026-01-10")
    page.click("[data-testid=save-client]")
    assert page.inner_text("[data-testid=client-name]") == "Siti Aminah"

    page.click("text=Add a household member")
    form = page.locator("[data-testid=add-member-form]")
    form.locator("input[name=full_name]").fill("Rina")
    form.locator("select[name=relationship_to_head]").select_option("child")
    form.locator("select[name=sex]").select_option("female")
    form.locator("input[name=date_of_birth]").fill("2012-04-01")
    form.locator("[data-testid=add-member]").click()
    assert "Rina added to the household." in page.inner_text("main")

    page.click("text=Add a household member")
    form.locator("input[name=member_client_id]").fill(str(joko))
    form.locator("select[name=relationship_to_head]").select_option("spouse")
    form.locator("[data-testid=add-member]").click()
    assert "Joko Susilo added to the household." in page.inner_text("main")

    page.click("text=Change the head of the household")
    page.select_option("[data-testid=head-form] select[name=member_id]", label=f"Joko Susilo (#{joko})")
    page.click("[data-testid=make-head]")
    assert "Joko Susilo is now the head of the household." in page.inner_text("main")
    # Cell by cell: the actions cell holds forms, whose line breaks depend on the stylesheet.
    rows = {}
    for row in page.locator("[data-testid=household] tbody tr").all():
        cells = row.locator("td")
        rows[cells.nth(0).inner_text().split(" #")[0].strip()] = cells.nth(1).inner_text().strip()
    assert rows == {"Siti Aminah": "Spouse", "Rina": "Child", "Joko Susilo": "Head of household"}
    assert "Head of household changed" in page.inner_text("[data-testid=timeline]")
