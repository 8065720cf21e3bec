"""The screening page reads as the rule does: "any of" groups as alternatives, programmes by name."""

from __future__ import annotations

import re
from datetime import date

from srs.core.transaction import commit
from srs.programmes.seed import seed_catalogue
from tests.programmes.conftest import make_client


def screened_page(app, login_as, **facts) -> str:
    with app.test_request_context():
        seed_catalogue("x")
        person = make_client("35.16.08.2003", date_of_birth=date(1985, 5, 1), **facts)
        commit()
        person_id = person.id
    officer = login_as("officer")
    response = officer.post(f"/clients/{person_id}/screenings")
    assert response.status_code == 302
    return officer.get(response.headers["Location"]).get_data(as_text=True)


def article(page: str, code: str) -> str:
    start = page.index(f'data-testid="result-{code}"')
    return page[start : page.index("</article>", start)]


def test_an_alternative_not_needed_is_not_shown_as_a_failure(app, login_as):
    # JKN-KIS PBI: poor OR decile <= 4. Near-poor in decile 3: eligible through the decile.
    page = screened_page(app, login_as, poverty_status="near_poor", welfare_decile=3, enrolments=[])
    eligible = page[
        page.index('data-testid="group-eligible"') : page.index('data-testid="group-needs_information"')
    ]
    pbi = article(eligible, "ID-JKN-PBI")
    assert "At least one of these:" in pbi
    assert 'data-testid="group-of-any"' in pbi
    # The unmet alternative is shown as not needed, never with the failure mark under "Eligible".
    assert "✗" not in pbi
    assert re.search(r'reason-spare">\s*<span class="reason-mark" aria-hidden="true">–</span>', pbi)
    assert "not met, not needed" in pbi


def test_a_failed_group_still_shows_its_failures(app, login_as):
    page = screened_page(app, login_as, poverty_status="not_poor", welfare_decile=8, enrolments=[])
    pbi = article(page, "ID-JKN-PBI")
    assert "At least one of these:" in pbi and pbi.count("✗") == 3  # the group and both alternatives


def test_programmes_are_named_not_coded(app, login_as):
    page = screened_page(app, login_as, work_status="informal", enrolments=["ID-BPJSTK-BPU"])
    bpu = article(page, "ID-BPJSTK-BPU")
    assert "already enrolled in BPJS Ketenagakerjaan for non-wage workers (BPU), so not eligible again" in bpu
    pbi = article(page, "ID-JKN-PBI")
    assert "not yet enrolled in JKN-KIS PBI (state-paid health insurance)" in pbi
    assert "not yet enrolled in ID-" not in page
