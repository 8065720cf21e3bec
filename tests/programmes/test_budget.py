"""The budget view: the state's monthly cost for the people a rule or rate change makes eligible."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from srs.core import clock
from srs.core.transaction import commit
from srs.programmes.budget import budget
from srs.registry.models import Client
from tests.factories import make_programme, user
from tests.programmes.conftest import make_client
from tests.programmes.test_estimates import add_rates, spec

ADULT = {"all": [{"field": "age", "op": ">=", "value": 15}]}


def world():
    programme = make_programme("VN-BHXH-TN", "VSS", "VN", criteria=ADULT)
    rates = add_rates(programme, params=dict(spec("VN-BHXH-TN")["params"], topups=[]))
    born = date(1980, 1, 1)
    make_client(
        "00070", sex="female", date_of_birth=born, monthly_income=1_500_000, poverty_status="near_poor"
    )
    make_client("00070", sex="male", date_of_birth=born, monthly_income=3_000_000, poverty_status="poor")
    make_client("00070", sex="female", date_of_birth=born, poverty_status="not_poor")
    make_client("00070", sex="male", date_of_birth=date(clock.today().year - 10, 1, 1))
    make_client("35.16.08.2003", sex="male", date_of_birth=born)  # Indonesia: not this programme's country
    return programme, rates


def test_the_state_cost_by_district_and_sex(ctx):
    programme, rates = world()
    result = budget(programme.current_version, rates, user("admin"))
    # Women: near-poor 40% of 330,000 = 132,000 + others 20% = 66,000 -> 198,000; men: poor 50% = 165,000.
    # The child is not eligible; the Indonesian client is not counted.
    assert result["total"] == {"people": 3, "state": 363_000, "contribution": 330_000 + 660_000 + 330_000}
    [row] = result["districts"]
    assert row["female"] == {"people": 2, "state": 198_000}
    assert row["male"] == {"people": 1, "state": 165_000}
    assert result["currency"] == "VND"


def test_a_draft_rate_version_shows_its_cost_beside_the_rates_in_force(app, login_as):
    with app.test_request_context():
        programme, _rates = world()
        draft = add_rates(
            programme,
            2,
            status="draft",
            params=dict(
                spec("VN-BHXH-TN")["params"], topups=[], support={"poor": 60, "near_poor": 50, "other": 30}
            ),
        )
        programme_id = programme.id
        assert draft.status == "draft"
        commit()
    page = login_as("admin").get(f"/admin/programmes/{programme_id}/rates").get_data(as_text=True)
    assert page.count('data-testid="budget"') == 2
    now, with_draft = page.split("With the draft rates")
    assert "the state would pay 363,000 VND a month" in now
    # With the draft: women 50% and 30% of 330,000 = 165,000 + 99,000; men 60% = 198,000; 462,000 in all.
    assert "the state would pay 462,000 VND a month" in with_draft


def test_the_rule_simulation_gives_the_cost_of_the_draft_rule(app, login_as):
    from srs.programmes.versions import save_draft

    with app.test_request_context():
        programme, _rates = world()
        # Only the poor: the man alone, 50% of 330,000 = 165,000.
        save_draft(programme, {"all": [{"field": "poverty_status", "op": "=", "value": "poor"}]}, None)
        programme_id = programme.id
        commit()
    page = login_as("admin").get(f"/admin/programmes/{programme_id}/rules").get_data(as_text=True)
    cost = page.split("Monthly cost to the state with the draft rule")[1]
    assert "People: 1; the state would pay 165,000 VND a month" in cost


def test_months_of_support_used_count_in_the_cost_with_one_query_for_everyone(app, ctx):
    from sqlalchemy import event

    from srs.extensions import db
    from tests.programmes.test_support_months import enrol

    programme, rates = world()
    people = db.session.scalars(
        select(Client).where(Client.sex == "male", Client.poverty_status == "poor")
    ).all()
    [poor_man] = people
    # 120 months of support used up: the state pays nothing more for him.
    enrol(poor_man, programme, date(2010, 1, 1), date(2019, 12, 31))
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    def cost() -> dict:
        seen.clear()
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            return budget(programme.current_version, rates, user("admin"))
        finally:
            event.remove(db.engine, "before_cursor_execute", note)

    result = cost()
    assert result["total"]["state"] == 198_000  # the two women only
    assert result["districts"][0]["male"] == {"people": 1, "state": 0}
    cost()  # the user and the programme are in the session now, as they are for the second figure
    few = len(seen)
    for _n in range(6):
        make_client("00070", sex="female", date_of_birth=date(1980, 1, 1), poverty_status="not_poor")
    more = cost()
    assert more["total"]["people"] == 9
    assert len(seen) == few, "one enrolment query per person is back"
