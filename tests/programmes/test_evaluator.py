"""The Python evaluator: outcomes, sentences, what to ask, near misses, and rule validation."""

from __future__ import annotations

from datetime import date

from srs.programmes.fields import facts_for
from srs.programmes.rules import PreparedRule, validate
from tests.factories import add_household
from tests.programmes.conftest import make_client

ON = date(2026, 3, 1)
INCOME_LIMIT = {"all": [{"field": "monthly_income", "op": "<=", "value": 2_500_000}]}


def run(criteria, client, code=None):
    return PreparedRule(criteria, code).evaluate(facts_for(client, ON))


def test_income_above_the_limit_is_explained_with_grouped_numbers(ctx):
    client = make_client(monthly_income=2_600_000)
    result = run(INCOME_LIMIT, client)
    assert result.outcome == "not_eligible"
    assert result.reasons[0].detail == "monthly income 2,600,000 is above the limit 2,500,000"
    assert result.reasons[0].passed is False


def test_near_miss_says_what_would_change_the_outcome(ctx):
    client = make_client(monthly_income=2_600_000)
    result = run(INCOME_LIMIT, client)
    assert result.hints == ["would qualify with monthly income of at most 2,500,000"]
    far = run(INCOME_LIMIT, make_client(monthly_income=9_000_000))
    assert far.hints == []


def test_unknown_income_needs_information_and_says_what_to_ask(ctx):
    client = make_client(monthly_income=None)
    result = run(INCOME_LIMIT, client)
    assert result.outcome == "needs_information"
    assert result.reasons[0].passed is None
    assert result.reasons[0].detail == "monthly income is not known"
    assert result.ask == ["monthly income"]


def test_a_known_failure_beats_an_unknown(ctx):
    criteria = {
        "all": [
            {"field": "monthly_income", "op": "<=", "value": 100},
            {"field": "disability", "op": "=", "value": True},
        ]
    }
    assert run(criteria, make_client(monthly_income=5000, disability=None)).outcome == "not_eligible"
    either = {
        "any": [
            {"field": "monthly_income", "op": "<=", "value": 100},
            {"field": "disability", "op": "=", "value": True},
        ]
    }
    assert run(either, make_client(monthly_income=5000, disability=None)).outcome == "needs_information"
    assert run(either, make_client(monthly_income=50, disability=None)).outcome == "eligible"


def test_people_already_enrolled_are_not_eligible_again(ctx):
    client = make_client(monthly_income=1_000_000, enrolments=["ID-PKH"])
    result = run(INCOME_LIMIT, client, code="ID-PKH")
    assert result.outcome == "not_eligible"
    assert "already enrolled in ID-PKH" in result.reasons[0].detail
    assert run(INCOME_LIMIT, make_client(monthly_income=1_000_000), code="ID-PKH").outcome == "eligible"


def test_age_at_the_screening_date_and_region_under(ctx):
    criteria = {
        "all": [
            {"field": "age", "op": "between", "value": [18, 64]},
            {"field": "region", "op": "in", "value": ["35.16"]},
        ]
    }
    turns_18_tomorrow = make_client(date_of_birth=date(2008, 3, 2))
    assert run(criteria, turns_18_tomorrow).outcome == "not_eligible"
    turned_18_today = make_client(date_of_birth=date(2008, 3, 1))
    result = run(criteria, turned_18_today)
    assert result.outcome == "eligible"
    assert result.reasons[1].detail == "place of residence Awang-awang lies in Kabupaten Mojokerto"
    elsewhere = make_client("35.76.01.1007", date_of_birth=date(1990, 1, 1))
    assert run(criteria, elsewhere).reasons[1].detail == "place of residence lies outside Kabupaten Mojokerto"


def test_household_facts_come_from_members(ctx):
    criteria = {"all": [{"field": "has_child_under_6", "op": "=", "value": True}]}
    no_household = make_client()
    assert run(criteria, no_household).outcome == "needs_information"
    with_child = make_client()
    add_household(with_child, [{"date_of_birth": date(2023, 5, 1)}])
    assert run(criteria, with_child).outcome == "eligible"
    with_teen = make_client()
    add_household(with_teen, [{"date_of_birth": date(2012, 5, 1)}])
    assert run(criteria, with_teen).outcome == "not_eligible"
    unknown_member = make_client()
    add_household(unknown_member, [{"date_of_birth": None}])
    assert run(criteria, unknown_member).outcome == "needs_information"


def test_pregnant_member_from_client_or_household(ctx):
    criteria = {"all": [{"field": "has_pregnant_member", "op": "=", "value": True}]}
    assert run(criteria, make_client(pregnant=True)).outcome == "eligible"
    husband = make_client(sex="male")
    add_household(husband, [{"sex": "female", "pregnant": True}])
    assert run(criteria, husband).outcome == "eligible"
    alone = make_client(sex="male")
    add_household(alone, [{"sex": "male"}])
    assert run(criteria, alone).outcome == "not_eligible"


def test_sentences_follow_the_language(app, demo):
    with app.test_request_context(headers={"Accept-Language": "id"}):
        from flask_babel import refresh

        refresh()
        client = make_client(monthly_income=2_600_000)
        detail = run(INCOME_LIMIT, client).reasons[0].detail
        assert "2.600.000" in detail and "2.500.000" in detail


def messages(criteria):
    return [message for _path, message in validate(criteria)]


def test_validation_refuses_unknown_fields_text_for_numbers_empty_groups_and_wrong_operators(ctx):
    assert messages({"all": [{"field": "salary", "op": "<", "value": 1}]}) == [
        "Unknown field \u201csalary\u201d."
    ]
    assert messages({"all": [{"field": "monthly_income", "op": "<", "value": "lots"}]}) == [
        "monthly income is a number: \u201clots\u201d is not a number."
    ]
    assert messages({"all": []}) == ["This group is empty: add a criterion or remove the group."]
    assert "does not apply" in messages({"all": [{"field": "sex", "op": "<", "value": "female"}]})[0]
    assert (
        "Unknown region code" in messages({"all": [{"field": "region", "op": "in", "value": ["99.99"]}]})[0]
    )
    assert messages({"all": [{"field": "age", "op": "<", "value": 2025}]}) == [
        "age is compared with numbers from 0 to 150."
    ]
    assert validate({"all": [{"field": "age", "op": "between", "value": [18, 64]}]}) == []


def test_validation_gives_the_path_of_each_bad_criterion(ctx):
    errors = validate(
        {
            "all": [
                {"field": "age", "op": ">=", "value": 18},
                {"any": [{"field": "x", "op": "=", "value": 1}, {"all": []}]},
            ]
        }
    )
    assert [path for path, _m in errors] == ["r.1.0", "r.1.1"]
