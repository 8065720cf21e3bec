"""Households: register as head or as member of a registered household, edit, link and remove members."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from srs.core.errors import NotFound, ValidationFailed
from srs.core.models import AuditEntry
from srs.core.slots import timeline_for
from srs.core.transaction import commit
from srs.extensions import db
from srs.registry import members
from srs.registry.models import Client, Household, HouseholdMember
from tests.registry.conftest import VILLAGE_ID1, VILLAGE_ID2, nik_for, payload, user


def _form(**overrides):
    birth = overrides.pop("birth", "1990-02-03")
    sex = overrides.get("sex", "male")
    data = {
        "full_name": "Slamet Riyadi",
        "sex": sex,
        "date_of_birth": birth,
        "id_type": "nik",
        "id_number": nik_for(date.fromisoformat(birth), sex),
        "region_code": VILLAGE_ID1,
        "poverty_status": "poor",
        "consent_given": "y",
        "consent_date": "2026-01-10",
        "consent_scope": "Screening and referral",
    }
    data.update(overrides)
    return data


def _head_with_household(register_client, app, username="officer.id1", **fields) -> tuple[int, int]:
    head = register_client(username, data=payload(household={"new": True}, **fields))
    with app.app_context():
        return head, db.session.get(Client, head).household_id


def _members(app, household_id):
    with app.app_context():
        return {
            m.full_name: m
            for m in db.session.scalars(
                select(HouseholdMember).where(HouseholdMember.household_id == household_id)
            )
        }


def test_register_form_as_head_of_a_new_household(login_as, app, demo):
    officer = login_as("officer")
    assert 'data-testid="household-fields"' in officer.get("/clients/new").get_data(as_text=True)
    response = officer.post("/clients/new", data=_form(household_choice="new"))
    assert response.status_code == 302
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.full_name == "Slamet Riyadi"))
        assert client.household is not None
        [member] = client.household.members
        assert (member.client_id, member.relationship_to_head) == (client.id, "head")
        household_id = client.household_id
    html = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Household number {household_id}" in html and "Head of household" in html


def test_register_form_as_member_of_a_registered_household(login_as, register_client, app):
    head, household_id = _head_with_household(register_client, app)
    officer = login_as("officer")
    response = officer.post(
        "/clients/new",
        data=_form(household_choice="join", household_id=str(household_id), household_relationship="spouse"),
    )
    assert response.status_code == 302
    members = _members(app, household_id)
    assert members["Slamet Riyadi"].relationship_to_head == "spouse"
    assert members["Slamet Riyadi"].client_id is not None
    head_page = officer.get(f"/clients/{head}").get_data(as_text=True)
    assert "Slamet Riyadi" in head_page and "Household member added" in head_page


def test_register_form_household_errors_next_to_the_fields_with_input_kept(login_as, register_client, app):
    # A household in another officer's district is not there for this officer.
    _other, foreign_household = _head_with_household(
        register_client,
        app,
        "officer.id2",
        region_code=VILLAGE_ID2,
        id_number=nik_for(date(1988, 6, 5), "female", "357601"),
    )
    officer = login_as("officer")
    response = officer.post(
        "/clients/new",
        data=_form(household_choice="join", household_id=str(foreign_household), full_name="Budi Santoso"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="household_id-error"' in html and "No household with this number in your area." in html
    assert f'value="{foreign_household}"' in html and 'value="Budi Santoso"' in html
    bad = officer.post("/clients/new", data=_form(household_choice="join", household_id="abc", full_name=""))
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="household_id-error"' in page and 'id="full_name-error"' in page
    with app.app_context():
        assert db.session.scalar(select(Client).where(Client.full_name == "Budi Santoso")) is None


def test_edit_a_member_from_the_profile(login_as, register_client, app):
    head = register_client()
    officer = login_as("officer")
    officer.post(
        f"/clients/{head}/members",
        data={
            "full_name": "Rina",
            "relationship_to_head": "child",
            "sex": "female",
            "date_of_birth": "2012-04-01",
        },
    )
    with app.app_context():
        household_id = db.session.get(Client, head).household_id
    rina = _members(app, household_id)["Rina"]
    page = officer.get(f"/clients/{head}/members/{rina.id}/edit")
    assert page.status_code == 200 and 'value="Rina"' in page.get_data(as_text=True)
    bad = officer.post(
        f"/clients/{head}/members/{rina.id}/edit",
        data={
            "full_name": "Rina Wati",
            "relationship_to_head": "child",
            "sex": "female",
            "date_of_birth": "2031-01-01",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="date_of_birth-error"' in html and 'value="Rina Wati"' in html
    assert _members(app, household_id)["Rina"].date_of_birth == date(2012, 4, 1)
    saved = officer.post(
        f"/clients/{head}/members/{rina.id}/edit",
        data={
            "full_name": "Rina Wati",
            "relationship_to_head": "grandchild",
            "sex": "female",
            "date_of_birth": "2012-04-01",
            "in_education": "yes",
            "disability": "no",
            "pregnant": "no",
        },
    )
    assert saved.status_code == 302
    member = _members(app, household_id)["Rina Wati"]
    assert (member.relationship_to_head, member.in_education, member.disability, member.pregnant) == (
        "grandchild",
        True,
        False,
        False,
    )
    timeline = officer.get(f"/clients/{head}").get_data(as_text=True)
    assert "Household member changed" in timeline and "Rina → Rina Wati" in timeline


def test_remove_a_member_and_the_head_stays(login_as, register_client, app):
    head = register_client()
    spouse = register_client(full_name="Slamet", sex="male", date_of_birth="1985-02-02")
    officer = login_as("officer")
    officer.post(
        f"/clients/{head}/members", data={"member_client_id": str(spouse), "relationship_to_head": "spouse"}
    )
    with app.app_context():
        household_id = db.session.get(Client, head).household_id
    members = _members(app, household_id)
    head_member = next(m for m in members.values() if m.relationship_to_head == "head")
    refused = officer.post(f"/clients/{head}/members/{head_member.id}/remove", follow_redirects=True)
    assert "cannot be removed while other members remain" in refused.get_data(as_text=True)
    assert officer.post(f"/clients/{head}/members/{members['Slamet'].id}/remove").status_code == 302
    assert set(_members(app, household_id)) == {"Siti Aminah"}
    with app.app_context():
        assert db.session.get(Client, spouse).household_id is None
    assert "Household member removed" in officer.get(f"/clients/{head}").get_data(as_text=True)


def test_members_are_scoped_to_the_client_and_the_officer(login_as, register_client, app):
    head = register_client()
    other = register_client(full_name="Dewi", date_of_birth="1979-01-01")
    officer = login_as("officer")
    officer.post(f"/clients/{head}/members", data={"full_name": "Rina", "relationship_to_head": "child"})
    with app.app_context():
        rina = db.session.scalar(select(HouseholdMember).where(HouseholdMember.full_name == "Rina"))
    # The member exists, but not in this client's household: 404.
    assert officer.get(f"/clients/{other}/members/{rina.id}/edit").status_code == 404
    assert officer.post(f"/clients/{other}/members/{rina.id}/remove").status_code == 404
    # Another district's officer does not see the client at all.
    assert login_as("officer2").get(f"/clients/{head}/members/{rina.id}/edit").status_code == 404
    assert login_as("supervisor").post(f"/clients/{head}/members/{rina.id}/remove").status_code == 403


def test_service_links_a_member_to_a_client_record(app, register_client):
    head = register_client()
    daughter = register_client(full_name="Rina Aminah", date_of_birth="2001-03-04")
    with app.test_request_context():
        officer = user("officer.id1")
        client = db.session.get(Client, head)
        member = members.add_household_member(
            client, {"full_name": "Rina", "relationship_to_head": "child", "sex": "female"}, officer
        )
        with pytest.raises(ValidationFailed) as refused:
            members.update_household_member(
                client, member, {"member_client_id": "999999", "relationship_to_head": "child"}, officer
            )
        assert "member_client_id" in refused.value.errors
        members.update_household_member(
            client, member, {"member_client_id": str(daughter), "relationship_to_head": "child"}, officer
        )
        commit()
        member = db.session.get(HouseholdMember, member.id)
        linked = db.session.get(Client, daughter)
        assert (member.client_id, member.full_name, member.date_of_birth) == (
            daughter,
            "Rina Aminah",
            date(2001, 3, 4),
        )
        assert linked.household_id == client.household_id
        # The same client cannot be in the household twice.
        with pytest.raises(ValidationFailed) as twice:
            members.add_household_member(
                client, {"member_client_id": str(daughter), "relationship_to_head": "child"}, officer
            )
        assert "already a member of this household" in twice.value.errors["member_client_id"][0]
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "client.household").order_by(AuditEntry.id.desc())
        ).first()
        assert entry.details["changes"]["member_client_id"]["to"] == daughter


def test_service_validates_member_facts_and_keeps_the_head(app, register_client):
    head = register_client()
    with app.test_request_context():
        officer = user("officer.id1")
        client = db.session.get(Client, head)
        with pytest.raises(ValidationFailed) as bad:
            members.add_household_member(
                client,
                {"full_name": "Agus", "relationship_to_head": "head", "sex": "male", "pregnant": "yes"},
                officer,
            )
        assert set(bad.value.errors) == {"relationship_to_head", "pregnant"}
        member = members.add_household_member(
            client, {"full_name": "Agus", "relationship_to_head": "child", "sex": "male"}, officer
        )
        head_member = next(m for m in client.household.members if m.relationship_to_head == "head")
        members.update_household_member(
            client,
            head_member,
            {"full_name": "Siti Aminah", "relationship_to_head": "child", "sex": "female"},
            officer,
        )
        assert head_member.relationship_to_head == "head"
        with pytest.raises(NotFound):
            members.get_member(client, member.id + 1000)
        members.remove_household_member(client, member, officer)
        members.remove_household_member(client, head_member, officer)
        commit()
        client = db.session.get(Client, head)
        assert client.household_id is None
        assert db.session.scalars(select(Household)).all() == []


def test_api_registration_as_head_and_as_member(client, api_token, register_client, app):
    created = client.post(
        "/api/v1/clients", json=payload(household={"new": True}), headers=api_token("officer")
    )
    assert created.status_code == 201
    household_id = created.get_json()["household"]["id"]
    joined = client.post(
        "/api/v1/clients",
        json=payload(
            full_name="Joko",
            sex="male",
            id_number=nik_for(date(1986, 1, 1), "male"),
            date_of_birth="1986-01-01",
            household={"household_id": household_id, "relationship_to_head": "spouse"},
        ),
        headers=api_token("officer"),
    )
    assert joined.status_code == 201
    members = {m["full_name"]: m["relationship_to_head"] for m in joined.get_json()["household"]["members"]}
    assert members == {"Siti Aminah": "head", "Joko": "spouse"}
    both = client.post(
        "/api/v1/clients",
        json=payload(
            full_name="Ani",
            id_number=nik_for(date(1988, 6, 5), "female"),
            household={"household_id": household_id, "relationship_to_head": "child", "new": True},
        ),
        headers=api_token("officer"),
    )
    assert both.status_code == 422 and "household.members" in both.get_json()["errors"]


def test_timeline_shows_household_changes(app, register_client):
    head = register_client()
    with app.test_request_context():
        officer = user("officer.id1")
        client = db.session.get(Client, head)
        members.add_household_member(client, {"full_name": "Rina", "relationship_to_head": "child"}, officer)
        commit()
        titles = [item.title for item in timeline_for(db.session.get(Client, head))]
        assert "Household member added" in titles


HUGE_ID = "99999999999999999999"  # past every id column; SQLite could not even bind it


def test_household_and_client_numbers_past_any_record_are_messages_not_500(
    login_as, register_client, app, client, api_token
):
    head = register_client()
    officer = login_as("officer")
    joining = officer.post(
        "/clients/new", data=_form(household_choice="join", household_id=HUGE_ID, full_name="Budi Santoso")
    )
    assert joining.status_code == 422
    html = joining.get_data(as_text=True)
    assert "No household with this number in your area." in html and 'value="Budi Santoso"' in html
    member = officer.post(
        f"/clients/{head}/members", data={"member_client_id": HUGE_ID, "relationship_to_head": "child"}
    )
    assert member.status_code == 422 and 'id="member_client_id-error"' in member.get_data(as_text=True)
    move = officer.post(
        f"/clients/{head}/household/move",
        data={"move-household_id": HUGE_ID, "move-relationship_to_head": "child"},
    )
    assert move.status_code == 422
    assert 'id="move-household_id-error"' in move.get_data(as_text=True)
    api = client.post(
        "/api/v1/clients",
        json=payload(household={"household_id": int(HUGE_ID), "relationship_to_head": "child"}),
        headers=api_token("officer"),
    )
    assert api.status_code == 422 and "household.household_id" in api.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(Client).where(Client.full_name == "Budi Santoso")) is None


def test_the_profile_flags_a_household_size_below_the_members_recorded(login_as, register_client, app):
    head = register_client(data=payload(household_size=2))
    officer = login_as("officer")
    check = 'data-testid="household-size-check"'
    for name in ("Rina", "Dodi"):
        officer.post(
            f"/clients/{head}/members",
            data={
                "full_name": name,
                "relationship_to_head": "child",
                "sex": "female",
                "date_of_birth": "2012-04-01",
            },
        )
        page = officer.get(f"/clients/{head}").get_data(as_text=True)
    # Head, Rina and Dodi: three recorded, two on the record.
    assert check in page and "The household size on this record is 2, but 3 members are recorded" in page
    with app.app_context():
        db.session.get(Client, head).household_size = 3
        db.session.commit()
    assert check not in officer.get(f"/clients/{head}").get_data(as_text=True)
