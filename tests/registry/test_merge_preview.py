"""The review page says, before a merge, which household each record is in and what merging will do
to the households; the preview and the merge share one decision (households.plan_merge)."""

from __future__ import annotations

import re

from sqlalchemy import select

from srs.extensions import db
from srs.registry import households
from srs.registry.models import Client, HouseholdMember
from tests.registry.test_duplicates import _add, _household_state, _merge, _pair


def _records(page: str) -> dict[int, str]:
    """Each record's column on the review page, by client id (the text between its heading and
    the next one)."""
    parts = re.split(r'<h2><a href="/clients/(\d+)">', page)
    return {int(parts[i]): parts[i + 1].split("</form>")[0] for i in range(1, len(parts), 2)}


def _review(login_as) -> dict[int, str]:
    response = login_as("supervisor").get("/clients/review")
    assert response.status_code == 200
    return _records(response.get_data(as_text=True))


def test_no_households_shows_a_line_and_no_notice(app, register_client, login_as):
    keep, dup = _pair(register_client)
    records = _review(login_as)
    assert set(records) == {keep, dup}
    for text in records.values():
        assert "Not in a household" in text
        assert 'data-testid="merge-preview"' not in text


def test_same_household_says_the_second_entry_goes_and_who_becomes_head(app, register_client, login_as):
    keep, dup = _pair(register_client)
    household = _add(app, dup, member_client_id=keep, relationship_to_head="spouse")
    _add(app, dup, full_name="Rina", relationship_to_head="child", sex="female")
    before = _household_state(app)
    records = _review(login_as)
    assert f"Household {household} — Spouse" in records[keep]
    assert f"Household {household} — Head of household" in records[dup]
    same = f"Both records are in household {household}: the second entry will be removed."
    # Keeping the spouse: they take over as head. Keeping the head: nobody else changes.
    assert f"{same} Siti Aminah will become the head of household {household}." in records[keep]
    assert same in records[dup] and "will become the head" not in records[dup]
    assert "flash-warning" not in records[keep] + records[dup]  # one household: no warning
    assert _household_state(app) == before  # showing the page changed nothing
    _merge(app, login_as, keep)
    assert _household_state(app)[household][0] == ("Siti Aminah", "head", keep)


def test_different_households_warn_and_name_the_new_head(app, register_client, login_as):
    keep, dup = _pair(register_client)
    joko = register_client(full_name="Joko", sex="male", date_of_birth="1984-01-01")
    agus = register_client(full_name="Agus", sex="male", date_of_birth="2004-05-05")
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    other = _add(app, dup, member_client_id=agus, relationship_to_head="child")
    _add(app, dup, member_client_id=joko, relationship_to_head="spouse")
    before = _household_state(app)
    records = _review(login_as)
    assert f"Household {own} — Head of household" in records[keep]
    assert f"Household {other} — Head of household" in records[dup]
    assert 'class="flash flash-warning" data-testid="merge-preview"' in records[keep]
    assert (
        f"Households differ: record #{dup} will be taken out of household {other}; Siti Aminah stays in "
        f"household {own}. Joko will become the head of household {other}."
    ) in records[keep]
    # The other way round, Rina (not a registered client) would be left without a head: refused.
    assert f"This merge will be refused: record #{keep} is the head of household {own}" in records[dup]
    assert _household_state(app) == before
    _merge(app, login_as, keep)  # and the merge does what was announced
    assert ("Joko", "head", joko) in _household_state(app)[other]


def test_a_merge_that_would_be_refused_says_so_beforehand(app, register_client, login_as):
    keep, dup = _pair(register_client)
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    other = _add(app, dup, full_name="Wawan", relationship_to_head="other", sex="male")
    records = _review(login_as)
    assert 'class="flash flash-warning"' in records[keep]
    assert (
        f"This merge will be refused: record #{dup} is the head of household {other} and none of its "
        "other members is a registered client who could take over."
    ) in records[keep]
    assert f"record #{keep} is the head of household {own}" in records[dup]
    _supervisor, page = _merge(app, login_as, keep)
    assert f"Record #{dup} is the head of household {other}, and none of its other members" in page


def test_only_the_duplicate_in_a_household_and_a_household_left_empty(app, register_client):
    """plan_merge on its own: the kept client takes the place; a head alone dissolves the household."""
    keep, dup = _pair(register_client)
    household = _add(app, dup, full_name="Rina", relationship_to_head="child", sex="female")
    with app.test_request_context():
        k, d = db.session.get(Client, keep), db.session.get(Client, dup)
        member = db.session.scalar(select(HouseholdMember).where(HouseholdMember.client_id == dup))
        plan = households.plan_merge(None, member)
        assert plan == households.MergePlan("joined", household)
        assert households.describe_plan(plan, k, d) == (
            f"Siti Aminah will take record #{dup}'s place in household {household}."
        )
        alone = HouseholdMember(household_id=99, client_id=keep, relationship_to_head="head")
        rina = next(m for m in member.household.members if m.full_name == "Rina")
        member.household.members.remove(rina)  # in memory only: never flushed
        plan = households.plan_merge(alone, member)
        assert plan.dissolved and plan.new_head is None and not plan.refused
        assert households.describe_plan(plan, k, d).endswith(
            f"Household {household} will have no members left and will be deleted."
        )
        assert households.plan_merge(alone, None) == households.MergePlan(None)
        db.session.rollback()
