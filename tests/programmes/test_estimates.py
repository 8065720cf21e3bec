"""Estimates against hand-computed examples at the edges, and the rate version in force on a date.

Every expected figure below was worked out by hand from shared/DOMAIN.md "Contribution and support
rates" (the working is in the comment beside it), not read back from the code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine

from srs.extensions import db
from srs.programmes.estimates import estimate_as_dict, explain, rates_in_force
from srs.programmes.fields import facts_for
from srs.programmes.models import RateVersion
from srs.programmes.screening import screen, screening_as_dict
from srs.programmes.seed import RATES
from tests.factories import add_household, make_programme
from tests.programmes.conftest import make_client

HANOI_COMMUNE = "00070"
ID_VILLAGE = "35.16.08.2003"


def spec(code: str, effective_from: date | None = None) -> dict[str, Any]:
    """The seeded table of ``code`` (the latest one when there are several)."""
    found = [s for s in RATES if s["programme"] == code]
    if effective_from is not None:
        found = [s for s in found if s["effective_from"] == effective_from]
    return found[-1]


def add_rates(programme, /, number: int = 1, status: str = "published", **overrides: Any) -> RateVersion:
    base = dict(spec(programme.code))
    base.update(overrides)
    version = RateVersion(
        programme_id=programme.id,
        number=number,
        scheme=base["scheme"],
        currency=base["currency"],
        params=base["params"],
        effective_from=base["effective_from"],
        source=base["source"],
        status=status,
    )
    db.session.add(version)
    db.session.flush()
    return version


def vn_vsi(**params: Any) -> RateVersion:
    programme = make_programme("VN-BHXH-TN", "VSS", "VN")
    table = dict(spec("VN-BHXH-TN")["params"], **params)
    return add_rates(programme, params=table)


def estimate(version: RateVersion, client) -> dict[str, Any]:
    from srs.programmes.estimates import estimate_for

    return estimate_as_dict(estimate_for(version, facts_for(client, date(2026, 1, 15))))


def figures(e: dict[str, Any]) -> tuple[int, int, int]:
    return e["contribution"], e["state_support"], e["client_pays"]


# Viet Nam voluntary social insurance ------------------------------------------------------------


def test_the_issue_example_near_poor_at_the_minimum_income(ctx):
    # 22% of 1,500,000 = 330,000; the state pays 40% of 330,000 = 132,000; the person pays 198,000.
    version = vn_vsi(topups=[])
    person = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="near_poor")
    e = estimate(version, person)
    assert figures(e) == (330_000, 132_000, 198_000)
    assert e["currency"] == "VND" and e["period"] == "month"
    assert "Decree 159/2025" in e["source"]
    text = " ".join(e["explanation"])
    assert "22% of 1,500,000 = 330,000 a month." in text
    assert "40% of 330,000" in text and "= 132,000 because the household is near-poor" in text
    assert "120 months" in text
    assert e["explanation"][-1] == "You pay 198,000 a month."


@pytest.mark.parametrize(
    ("poverty", "ethnic", "support"),
    [
        ("poor", None, 165_000),  # 50% of 330,000
        ("near_poor", None, 132_000),  # 40%
        ("not_poor", True, 99_000),  # 30%: ethnic minority
        ("not_poor", None, 66_000),  # 20%: everyone else
        ("unknown", False, 66_000),
        ("poor", True, 165_000),  # the larger group counts, never both
    ],
)
def test_each_support_group_on_a_chosen_income(ctx, poverty, ethnic, support):
    # A chosen income of 3,000,000: 22% = 660,000; the support is on the minimum's 330,000 whatever is chosen.
    version = vn_vsi(topups=[])
    person = make_client(
        HANOI_COMMUNE, monthly_income=3_000_000, poverty_status=poverty, ethnic_minority=ethnic
    )
    assert figures(estimate(version, person)) == (660_000, support, 660_000 - support)


def test_an_income_below_the_minimum_is_counted_at_the_minimum(ctx):
    version = vn_vsi(topups=[])
    person = make_client(HANOI_COMMUNE, monthly_income=900_000, poverty_status="poor")
    e = estimate(version, person)
    # 22% of 1,500,000 = 330,000; poor 50% = 165,000.
    assert figures(e) == (330_000, 165_000, 165_000)
    assert "below the lowest income allowed" in e["explanation"][0]


def test_an_unknown_income_is_counted_at_the_minimum(ctx):
    version = vn_vsi(topups=[])
    e = estimate(version, make_client(HANOI_COMMUNE, poverty_status="not_poor"))
    assert figures(e) == (330_000, 66_000, 264_000)
    assert "not known" in e["explanation"][0]


def test_an_income_above_the_cap_is_counted_at_the_cap(ctx):
    # The cap 20 x 2,340,000 = 46,800,000; 22% = 10,296,000; others 20% of 330,000 = 66,000.
    version = vn_vsi(topups=[])
    person = make_client(HANOI_COMMUNE, monthly_income=50_000_000, poverty_status="not_poor")
    e = estimate(version, person)
    assert figures(e) == (10_296_000, 66_000, 10_230_000)
    assert "46,800,000" in e["explanation"][0]


def test_a_provincial_top_up_is_an_extra_row_for_people_of_that_province(ctx):
    version = vn_vsi()  # the seeded Ha Noi rows: poor +20%
    in_hanoi = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="poor")
    # 50% + 20% of 330,000 = 165,000 + 66,000 = 231,000; pays 99,000.
    e = estimate(version, in_hanoi)
    assert figures(e) == (330_000, 231_000, 99_000)
    assert any(s == "Thành phố Hà Nội adds 20% of 330,000 = 66,000." for s in e["explanation"])
    elsewhere = dict(spec("VN-BHXH-TN")["params"])
    elsewhere["topups"] = [{"region": "79", "name": "Ho Chi Minh City", "group": "poor", "percent": 20}]
    version.params = elsewhere
    assert figures(estimate(version, in_hanoi)) == (330_000, 165_000, 165_000)


def test_the_support_never_exceeds_the_contribution(ctx):
    version = vn_vsi(topups=[{"region": "01", "group": "poor", "percent": 60}])
    person = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="poor")
    # 50% + 60% = 110% of 330,000 = 363,000 > 330,000: the state pays 330,000, the person nothing.
    assert figures(estimate(version, person)) == (330_000, 330_000, 0)


# Viet Nam household health insurance ------------------------------------------------------------


def hi_version() -> RateVersion:
    return add_rates(make_programme("VN-BHYT-HGD", "VSS", "VN"))


def household_of(size: int, **fields: Any):
    person = make_client(HANOI_COMMUNE, **fields)
    add_household(person, [{"sex": "female"} for _ in range(size)])
    return person


def test_a_person_alone_pays_the_first_member_rate(ctx):
    # 4.5% of 2,340,000 = 105,300.
    e = estimate(hi_version(), make_client(HANOI_COMMUNE, poverty_status="not_poor"))
    assert figures(e) == (105_300, 0, 105_300)


def test_a_five_member_household(ctx):
    # 105,300 + 70% 73,710 + 60% 63,180 + 50% 52,650 + 40% 42,120 = 336,960.
    e = estimate(hi_version(), household_of(5, poverty_status="not_poor"))
    assert figures(e) == (336_960, 0, 336_960)
    assert "Member 5: 40% of 105,300 = 42,120." in e["explanation"]
    assert "The household of 5 pays 336,960 a month in all." in e["explanation"]


def test_the_sixth_member_pays_the_last_share_again(ctx):
    # 336,960 + 42,120 = 379,080.
    assert estimate(hi_version(), household_of(6, poverty_status="not_poor"))["contribution"] == 379_080


def test_a_near_poor_household_gets_the_state_support(ctx):
    # 70% of 336,960 = 235,872; the household pays 101,088.
    e = estimate(hi_version(), household_of(5, poverty_status="near_poor"))
    assert figures(e) == (336_960, 235_872, 101_088)


def test_the_household_size_is_used_when_no_members_are_recorded(ctx):
    # Two people: 105,300 + 73,710 = 179,010.
    person = make_client(HANOI_COMMUNE, household_size=2, poverty_status="not_poor")
    assert estimate(hi_version(), person)["contribution"] == 179_010


# Indonesia --------------------------------------------------------------------------------------


def bpu_version() -> RateVersion:
    return add_rates(make_programme("ID-BPJSTK-BPU"))


def test_bpu_on_a_declared_income(ctx):
    # JKK 1% of 2,000,000 = 20,000 + JKM 6,800 = 26,800; with JHT 2% = 40,000 more: 66,800.
    e = estimate(bpu_version(), make_client(ID_VILLAGE, monthly_income=2_000_000))
    assert figures(e) == (26_800, 0, 26_800)
    assert (
        "Old-age savings (JHT) are optional: 2% of 2,000,000 = 40,000 more a month, 66,800 in all."
        in (e["explanation"])
    )


def test_bpu_below_the_lowest_bracket_and_rounding(ctx):
    version = bpu_version()
    # Below Rp 1,000,000: 1% of 1,000,000 = 10,000 + 6,800 = 16,800.
    assert estimate(version, make_client(ID_VILLAGE, monthly_income=800_000))["contribution"] == 16_800
    # 1% of 1,234,567 = 12,345.67 -> 12,346 (half up) + 6,800 = 19,146.
    assert estimate(version, make_client(ID_VILLAGE, monthly_income=1_234_567))["contribution"] == 19_146


def test_jkn_pbi_household_pays_nothing(ctx):
    # Class III 42,000 x 4 people = 168,000, all paid by the state.
    programme = make_programme("ID-JKN-PBI", "BPJSKES")
    person = make_client(ID_VILLAGE, poverty_status="poor")
    add_household(person, [{"sex": "male"}, {"sex": "female"}, {"sex": "female"}, {"sex": "male"}])
    e = estimate(add_rates(programme), person)
    assert figures(e) == (168_000, 168_000, 0)
    assert (
        "Paying yourself, class III costs you 35,000 per person a month (the state adds 7,000)."
        in (e["explanation"])
    )


def test_jkn_self_paying_class_three_state_share(ctx):
    # Not PBI: 42,000 x 2 = 84,000; the state pays 7,000 x 2 = 14,000; the household 70,000.
    programme = make_programme("ID-JKN-PBI", "BPJSKES")
    table = dict(spec("ID-JKN-PBI")["params"], state_paid=False)
    person = make_client(ID_VILLAGE, household_size=2)
    assert figures(estimate(add_rates(programme, params=table), person)) == (84_000, 14_000, 70_000)


def test_the_sentences_follow_the_language(app, demo):
    with app.test_request_context(headers={"Accept-Language": "id"}):
        from flask_babel import refresh

        refresh()
        version = bpu_version()
        e = estimate(version, make_client(ID_VILLAGE, monthly_income=2_000_000))
        # Indonesian digit grouping: 2.000.000.
        assert "2.000.000" in " ".join(e["explanation"])
        db.session.rollback()


# The rate version in force on a date -----------------------------------------------------------


def jakarta_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)


def test_a_rate_change_takes_effect_on_its_date(app, demo):
    with app.test_request_context():
        programme = make_programme("VN-BHXH-TN", "VSS", "VN", criteria={"all": []})
        add_rates(programme, 1, **spec("VN-BHXH-TN", date(2022, 1, 1)))
        add_rates(programme, 2, **spec("VN-BHXH-TN", date(2025, 7, 1)))
        # A later draft with other figures is never used, whatever its date.
        add_rates(programme, 3, status="draft", effective_from=date(2025, 7, 1), params={})
        person = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="near_poor")
        with time_machine.travel(jakarta_noon(date(2025, 6, 30)), tick=False):
            before = screening_as_dict(screen(person, None))["results"][0]["estimate"]
        with time_machine.travel(jakarta_noon(date(2025, 7, 1)), tick=False):
            after = screening_as_dict(screen(person, None))["results"][0]["estimate"]
        # Decree 134/2015: near-poor 25% of 330,000 = 82,500.
        # Decree 159/2025: 40% = 132,000, and Ha Noi's row adds 15% = 49,500.
        assert figures(before) == (330_000, 82_500, 247_500)
        assert "months" not in " ".join(before["explanation"])  # Decree 134/2015 set no limit
        assert figures(after) == (330_000, 181_500, 148_500)
        assert rates_in_force([programme.id], date(2021, 12, 31)) == {}
        db.session.rollback()


def test_a_screening_keeps_the_estimate_it_was_given(ctx):
    version = vn_vsi(topups=[])
    programme = version.programme
    person = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="near_poor")
    screening = screen(person, None)
    version.params = dict(version.params, support={"near_poor": 10})  # a later edit of the row
    [result] = [
        r for r in screening_as_dict(screening)["results"] if r["programme"]["code"] == programme.code
    ]
    assert figures(result["estimate"]) == (330_000, 132_000, 198_000)


def test_no_estimate_for_a_programme_the_person_cannot_join(ctx):
    programme = make_programme(
        "VN-BHXH-TN", "VSS", "VN", criteria={"all": [{"field": "age", "op": ">=", "value": 200}]}
    )
    add_rates(programme)
    person = make_client(HANOI_COMMUNE, monthly_income=1_500_000)
    [result] = screening_as_dict(screen(person, None))["results"]
    assert result["outcome"] == "not_eligible" and "estimate" not in result


def test_explain_skips_steps_it_does_not_know():
    assert explain({"steps": [["no_such_sentence", {}]]}) == []


# On the screening page and in the API -----------------------------------------------------------


def vn_setup(app) -> int:
    from srs.core.transaction import commit
    from srs.programmes.seed import seed_catalogue, seed_rates

    with app.test_request_context():
        seed_catalogue("x")
        seed_rates("x")
        person = make_client(
            HANOI_COMMUNE,
            date_of_birth=date(1990, 3, 1),
            work_status="informal",
            monthly_income=1_500_000,
            poverty_status="near_poor",
        )
        commit()
        return person.id


def test_the_api_and_the_page_carry_the_estimate(app, api_token, login_as):
    person_id = vn_setup(app)
    response = app.test_client().post(
        f"/api/v1/clients/{person_id}/screenings", headers=api_token("officer_vn")
    )
    assert response.status_code == 201, response.get_json()
    by_code = {r["programme"]["code"]: r for r in response.get_json()["results"]}
    vsi = by_code["VN-BHXH-TN"]["estimate"]
    assert set(vsi) == {
        "currency",
        "period",
        "contribution",
        "state_support",
        "client_pays",
        "explanation",
        "source",
        "rate_version",
        "effective_from",
    }
    # Decree 159/2025 near-poor 40% (132,000) plus the Ha Noi row's 15% (49,500).
    assert figures(vsi) == (330_000, 181_500, 148_500)
    # Household health insurance, one person near-poor: 105,300, 70% = 73,710 paid by the state.
    assert figures(by_code["VN-BHYT-HGD"]["estimate"]) == (105_300, 73_710, 31_590)
    assert "estimate" not in by_code["VN-TCXH"]  # no rate table
    page = login_as("officer_vn").get(f"/screenings/{response.get_json()['id']}").get_data(as_text=True)
    assert 'data-testid="estimate-VN-BHXH-TN"' in page
    assert "22% of 1,500,000 = 330,000 a month." in page
    assert "You pay 148,500 a month." in page
