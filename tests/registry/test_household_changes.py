"""Households over time: a new head (relationships re-expressed), removing the old head, moving clients."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from srs.core.errors import ValidationFailed
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.registry import households, members
from srs.registry.models import RELATIONSHIPS, Client, Household, HouseholdMember
from tests.conftest import csrf_token_from
from tests.registry.conftest import VILLAGE_ID2, user


def _relationships(app, household_id) -> dict[str, str]:
    with app.app_context():
        return {
            m.full_name: m.relationship_to_head
            for m in db.session.scalars(
                select(HouseholdMember).where(HouseholdMember.household_id == household_id)
            )
        }


def _member_id(app, household_id, name) -> int:
    with app.app_context():
        return db.session.scalar(
            select(HouseholdMember.id).where(
                HouseholdMember.household_id == household_id, HouseholdMember.full_name == name
            )
        )


def _household_of(app, client_id) -> int | None:
    with app.app_context():
        return db.session.get(Client, client_id).household_id


@pytest.fixture
def family(app, register_client):
    """Siti (head, client), her husband Joko (client), son Agus (client), daughter Rina, grandson
    Bayu, her mother Sri and a lodger Wawan (not registered)."""
    head = register_client()
    joko = register_client(full_name="Joko", sex="male", date_of_birth="1984-01-01")
    agus = register_client(full_name="Agus", sex="male", date_of_birth="2004-05-05")
    with app.test_request_context():
        officer = user("officer.id1")
        client = db.session.get(Client, head)
        for data in (
            {"member_client_id": str(joko), "relationship_to_head": "spouse"},
            {"member_client_id": str(agus), "relationship_to_head": "child"},
            {"full_name": "Rina", "relationship_to_head": "child", "sex": "female"},
            {"full_name": "Bayu", "relationship_to_head": "grandchild", "sex": "male"},
            {"full_name": "Sri", "relationship_to_head": "parent", "sex": "female"},
            {"full_name": "Wawan", "relationship_to_head": "other", "sex": "male"},
        ):
            members.add_household_member(client, data, officer)
        commit()
        household_id = client.household_id
    return {"head": head, "joko": joko, "agus": agus, "household": household_id}


def test_every_relationship_has_a_rule_for_every_new_head():
    kinds = [r for r in RELATIONSHIPS if r != "head"]
    assert set(households.OLD_HEAD_BECOMES) == set(kinds)
    assert set(households.REBASE) == set(kinds)
    for rules in households.REBASE.values():
        assert set(rules) <= set(kinds)
        assert all(value is None or value in kinds for value in rules.values())


def test_the_spouse_becomes_head_and_everyone_follows(login_as, app, family):
    officer = login_as("officer")
    joko = _member_id(app, family["household"], "Joko")
    response = officer.post(f"/clients/{family['head']}/household/head", data={"member_id": str(joko)})
    assert response.status_code == 302
    assert _relationships(app, family["household"]) == {
        "Siti Aminah": "spouse",
        "Joko": "head",
        "Agus": "child",
        "Rina": "child",
        "Bayu": "grandchild",
        "Sri": "other_relative",  # the new head's mother-in-law
        "Wawan": "other",
    }
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Joko is now the head of the household." in page
    assert "could not be worked out" not in page
    # On the timelines of the profile's client, the new head and (here the same) the old head.
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "client.household_head")
        ).all()
        assert sorted(int(e.object_id) for e in entries) == sorted([family["head"], family["joko"]])
        assert entries[0].details["old_head"] == "Siti Aminah" and entries[0].details["to_review"] == []
    joko_page = officer.get(f"/clients/{family['joko']}").get_data(as_text=True)
    assert "Head of household changed" in joko_page and "Siti Aminah → Joko" in joko_page


def test_a_child_becomes_head_and_what_cannot_be_derived_is_listed(login_as, app, family):
    officer = login_as("officer")
    agus = _member_id(app, family["household"], "Agus")
    response = officer.post(
        f"/clients/{family['head']}/household/head", data={"member_id": str(agus)}, follow_redirects=True
    )
    assert response.status_code == 200
    assert _relationships(app, family["household"]) == {
        "Siti Aminah": "parent",
        "Joko": "parent",
        "Agus": "head",
        "Rina": "sibling",
        "Bayu": "other",  # Agus's son or his nephew: to check
        "Sri": "other_relative",
        "Wawan": "other",
    }
    html = response.get_data(as_text=True)
    assert "Agus is now the head of the household." in html
    assert "could not be worked out" in html and "Bayu" in html
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "client.household_head", AuditEntry.object_id == str(family["agus"])
            )
        ).one()
        assert entry.details["to_review"] == ["Bayu"]
        changed = {c["name"]: (c["from"], c["to"]) for c in entry.details["relationships"]}
        assert changed["Siti Aminah"] == ("head", "parent") and changed["Bayu"] == ("grandchild", "other")
        assert "Wawan" not in changed


def test_the_old_head_can_be_removed_once_another_leads(login_as, app, family):
    officer = login_as("officer")
    siti = _member_id(app, family["household"], "Siti Aminah")
    refused = officer.post(f"/clients/{family['head']}/members/{siti}/remove", follow_redirects=True)
    assert "Make another member the head first" in refused.get_data(as_text=True)
    joko = _member_id(app, family["household"], "Joko")
    officer.post(f"/clients/{family['joko']}/household/head", data={"member_id": str(joko)})
    assert officer.post(f"/clients/{family['joko']}/members/{siti}/remove").status_code == 302
    assert "Siti Aminah" not in _relationships(app, family["household"])
    assert _household_of(app, family["head"]) is None


def test_bad_head_choices_are_refused_with_a_message(login_as, app, family, register_client):
    officer = login_as("officer")
    url = f"/clients/{family['head']}/household/head"
    before = _relationships(app, family["household"])
    other_head = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    officer.post(
        f"/clients/{other_head}/members", data={"full_name": "Putri", "relationship_to_head": "child"}
    )
    outsider = _member_id(app, _household_of(app, other_head), "Putri")
    cases = {
        "": "Choose the member who becomes the head",
        "abc": "Choose the member who becomes the head",
        str(outsider): "not a member of this household",
        "999999": "not a member of this household",
        str(_member_id(app, family["household"], "Siti Aminah")): "Siti Aminah is already the head",
        str(_member_id(app, family["household"], "Rina")): "Only a registered client can be the head",
    }
    for value, message in cases.items():
        response = officer.post(url, data={"member_id": value})
        assert response.status_code == 422, value
        html = response.get_data(as_text=True)
        assert 'id="member_id-error"' in html and message in html, value
    assert _relationships(app, family["household"]) == before
    alone = register_client(full_name="Tini", date_of_birth="1990-09-09")
    response = officer.post(f"/clients/{alone}/household/head", data={"member_id": "1"})
    assert response.status_code == 422 and "has no household yet" in response.get_data(as_text=True)


def test_changing_the_head_is_scoped_and_for_writers(login_as, app, family):
    joko = str(_member_id(app, family["household"], "Joko"))
    url = f"/clients/{family['head']}/household/head"
    assert login_as("officer2").post(url, data={"member_id": joko}).status_code == 404
    assert login_as("supervisor").post(url, data={"member_id": joko}).status_code == 403
    assert (
        login_as("officer").post("/clients/999999/household/head", data={"member_id": joko}).status_code
        == 404
    )
    assert _relationships(app, family["household"])["Siti Aminah"] == "head"


def test_changing_the_head_needs_the_csrf_token(login_as, app, family):
    officer = login_as("officer")
    joko = str(_member_id(app, family["household"], "Joko"))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = officer.post(f"/clients/{family['head']}/household/head", data={"member_id": joko})
        assert refused.status_code == 400
        assert _relationships(app, family["household"])["Joko"] == "spouse"
        page = officer.get(f"/clients/{family['head']}").get_data(as_text=True)
        assert 'data-testid="head-form"' in page
        token = csrf_token_from(page)
        accepted = officer.post(
            f"/clients/{family['head']}/household/head", data={"member_id": joko, "csrf_token": token}
        )
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _relationships(app, family["household"])["Joko"] == "head"


def test_the_profile_offers_only_registered_members_as_head(login_as, family):
    html = login_as("officer").get(f"/clients/{family['head']}").get_data(as_text=True)
    form = html[html.index('data-testid="head-form"') : html.index('data-testid="make-head"')]
    assert "Joko" in form and "Agus" in form and "Rina" not in form and "Siti Aminah" not in form
    assert 'data-testid="head-form"' not in login_as("supervisor").get(f"/clients/{family['head']}").get_data(
        as_text=True
    )


def test_service_change_head_without_a_head_lists_everyone_to_check(app, family):
    with app.test_request_context():
        household = db.session.get(Household, family["household"])
        for member in household.members:
            if member.relationship_to_head == "head":
                member.relationship_to_head = "other_relative"  # a household imported without a head
        commit()
        client = db.session.get(Client, family["head"])
        joko = next(m for m in client.household.members if m.full_name == "Joko")
        change = households.change_head(client, joko.id, user("officer.id1"))
        assert change.old_head is None
        assert set(change.to_review) == {"Siti Aminah", "Agus", "Rina", "Bayu", "Sri", "Wawan"}
        assert {m.relationship_to_head for m in client.household.members} == {"head", "other"}


# --- moving between households --------------------------------------------------------------------


def test_move_a_member_client_to_another_household(login_as, app, family, register_client):
    officer = login_as("officer")
    target_head = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    officer.post(
        f"/clients/{target_head}/members", data={"full_name": "Putri", "relationship_to_head": "child"}
    )
    target = _household_of(app, target_head)
    response = officer.post(
        f"/clients/{family['agus']}/household/move",
        data={"move-household_id": str(target), "move-relationship_to_head": "spouse"},
    )
    assert response.status_code == 302
    assert _household_of(app, family["agus"]) == target
    assert "Agus" not in _relationships(app, family["household"])
    assert _relationships(app, target) == {"Dewi": "head", "Putri": "child", "Agus": "spouse"}
    assert f"Agus is now in household {target}." in officer.get(response.headers["Location"]).get_data(
        as_text=True
    )
    # Both heads' timelines say so, and so does the moved client's.
    agus_page = officer.get(f"/clients/{family['agus']}").get_data(as_text=True)
    assert "Moved to another household" in agus_page
    assert f"Agus moved to household {target}" in officer.get(f"/clients/{family['head']}").get_data(
        as_text=True
    )
    assert "Agus (Spouse)" in officer.get(f"/clients/{target_head}").get_data(as_text=True)


def test_move_refusals_keep_everything_in_place(login_as, app, family, register_client):
    officer = login_as("officer")
    target_head = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    officer.post(
        f"/clients/{target_head}/members", data={"full_name": "Putri", "relationship_to_head": "child"}
    )
    target = str(_household_of(app, target_head))
    foreign = register_client(
        "officer.id2", full_name="Wati", region_code=VILLAGE_ID2, id_number=None, id_type="none"
    )
    with app.test_request_context():
        client = db.session.get(Client, foreign)
        members.add_household_member(
            client, {"full_name": "Anak", "relationship_to_head": "child"}, user("officer.id2")
        )
        commit()
    foreign_household = str(_household_of(app, foreign))
    before = _relationships(app, family["household"])
    cases = [
        (family["head"], target, "spouse", "household_id", "make another member the head first"),
        (
            family["agus"],
            foreign_household,
            "child",
            "household_id",
            "No household with this number in your area",
        ),
        (family["agus"], str(family["household"]), "child", "household_id", "already in this household"),
        (family["agus"], "", "child", "household_id", "Give the number of the household"),
        (family["agus"], target, "head", "relationship_to_head", "Choose the relationship"),
    ]
    for client_id, household_id, relationship, field, message in cases:
        response = officer.post(
            f"/clients/{client_id}/household/move",
            data={"move-household_id": household_id, "move-relationship_to_head": relationship},
        )
        assert response.status_code == 422, message
        html = response.get_data(as_text=True)
        assert f'id="move-{field}-error"' in html and message in html, message
    assert _relationships(app, family["household"]) == before
    assert (
        login_as("officer2")
        .post(
            f"/clients/{family['agus']}/household/move",
            data={"move-household_id": foreign_household, "move-relationship_to_head": "child"},
        )
        .status_code
        == 404
    )


def test_the_last_member_moving_out_dissolves_the_household_and_a_client_can_join(
    login_as, app, register_client
):
    officer = login_as("officer")
    alone = register_client(full_name="Tini", date_of_birth="1990-09-09")
    officer.post(f"/clients/{alone}/members", data={"full_name": "Nanda", "relationship_to_head": "child"})
    nanda = _member_id(app, _household_of(app, alone), "Nanda")
    officer.post(f"/clients/{alone}/members/{nanda}/remove")
    old = _household_of(app, alone)
    target_head = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    officer.post(
        f"/clients/{target_head}/members", data={"full_name": "Putri", "relationship_to_head": "child"}
    )
    target = _household_of(app, target_head)
    moved = officer.post(
        f"/clients/{alone}/household/move",
        data={"move-household_id": str(target), "move-relationship_to_head": "sibling"},
    )
    assert moved.status_code == 302
    with app.app_context():
        assert db.session.get(Household, old) is None
    # A client without a household joins one the same way.
    newcomer = register_client(full_name="Yanto", sex="male", date_of_birth="1999-09-09")
    page = officer.get(f"/clients/{newcomer}").get_data(as_text=True)
    assert "Join a registered household" in page
    joined = officer.post(
        f"/clients/{newcomer}/household/move",
        data={"move-household_id": str(target), "move-relationship_to_head": "other_relative"},
    )
    assert joined.status_code == 302
    assert _relationships(app, target) == {
        "Dewi": "head",
        "Putri": "child",
        "Tini": "sibling",
        "Yanto": "other_relative",
    }


def test_adding_a_client_of_another_household_points_to_moving(login_as, app, family, register_client):
    officer = login_as("officer")
    dewi = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    response = officer.post(
        f"/clients/{dewi}/members",
        data={"member_client_id": str(family["agus"]), "relationship_to_head": "child"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        f"already belongs to household {family['household']}" in html and "Move to another household" in html
    )


def test_service_move_keeps_the_members_own_facts(app, family, register_client):
    dewi = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    with app.test_request_context():
        officer = user("officer.id1")
        siti = db.session.get(Client, family["head"])
        agus_member = next(m for m in siti.household.members if m.full_name == "Agus")
        members.update_household_member(
            siti,
            agus_member,
            {"relationship_to_head": "child", "in_education": "yes", "disability": "no"},
            officer,
        )
        commit()
        with pytest.raises(ValidationFailed):
            households.move_client(db.session.get(Client, family["agus"]), {"household_id": "x"}, officer)
        agus = db.session.get(Client, family["agus"])
        dewi_client = db.session.get(Client, dewi)
        members.add_household_member(
            dewi_client, {"full_name": "Putri", "relationship_to_head": "child"}, officer
        )
        target = households.move_client(
            agus, {"household_id": dewi_client.household_id, "relationship_to_head": "child"}, officer
        )
        commit()
        moved = next(m for m in target.members if m.client_id == family["agus"])
        assert (moved.in_education, moved.disability, moved.relationship_to_head) == (True, False, "child")
