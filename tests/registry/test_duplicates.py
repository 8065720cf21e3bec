"""Probable duplicates: flagged, reviewed by a supervisor, marked distinct or merged without loss."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from srs.core.models import AuditEntry
from srs.extensions import db
from srs.programmes.models import Screening
from srs.referrals.models import Referral
from srs.registry import members, merge, services
from srs.registry.models import Client, DuplicateCandidate, Household, HouseholdMember
from tests.registry.conftest import VILLAGE_ID1, payload, user


def _pair(register_client):
    first = register_client(full_name="Siti Aminah", phone="081234567890")
    second = register_client(full_name="SITI  AMINAH", id_type="none", id_number=None)
    return first, second


def test_same_name_and_birth_in_district_is_flagged_not_blocked(app, register_client):
    first, second = _pair(register_client)
    with app.app_context():
        pair = db.session.scalar(select(DuplicateCandidate))
        assert (pair.client_id, pair.other_client_id, pair.reason) == (second, first, "name_birth_district")
        assert db.session.get(Client, second).needs_review is True


def test_same_phone_is_flagged(app, register_client):
    first = register_client(full_name="Siti Aminah", phone="081234567890")
    second = register_client(full_name="Dewi Sartika", date_of_birth="1990-01-01", phone="+62 812-3456-7890")
    with app.app_context():
        pair = db.session.scalar(select(DuplicateCandidate))
        assert (pair.client_id, pair.other_client_id, pair.reason) == (second, first, "phone")


def test_different_district_same_name_is_not_flagged(app, register_client):
    register_client(full_name="Siti Aminah")
    register_client("admin", full_name="Siti Aminah", region_code="35.76.01.1007")
    with app.app_context():
        assert db.session.scalar(select(DuplicateCandidate)) is None


def test_review_queue_mark_distinct(app, register_client, login_as):
    first, second = _pair(register_client)
    supervisor = login_as("supervisor")
    page = supervisor.get("/clients/review")
    assert page.status_code == 200 and "SITI AMINAH" in page.get_data(as_text=True)
    with app.app_context():
        pair_id = db.session.scalar(select(DuplicateCandidate.id))
    assert login_as("officer").get("/clients/review").status_code == 403
    response = supervisor.post(f"/clients/review/{pair_id}/distinct")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(DuplicateCandidate, pair_id).status == "distinct"
        assert db.session.get(Client, second).needs_review is False
    assert "Nothing to review" in supervisor.get("/clients/review").get_data(as_text=True)


def test_merge_repoints_every_reference_and_keeps_both_histories(app, register_client, login_as):
    first, second = _pair(register_client)
    with app.test_request_context():
        officer = user("officer.id1")
        dup = db.session.get(Client, second)
        services.update_client(dup, {"occupation": "Penjahit"}, officer, 1)
        members.add_household_member(
            dup,
            {"full_name": "Anak", "relationship_to_head": "child", "date_of_birth": "2015-01-01"},
            officer,
        )
        # Rows of other features that point at the duplicate.
        db.session.execute(insert(Screening).values(client_id=second, trigger="officer"))
        db.session.commit()
        pair_id = db.session.scalar(select(DuplicateCandidate.id))
    supervisor = login_as("supervisor")
    response = supervisor.post(f"/clients/review/{pair_id}/merge", data={"keep": str(first)})
    assert response.status_code == 302
    with app.app_context():
        kept, gone = db.session.get(Client, first), db.session.get(Client, second)
        assert gone.merged_into_id == first
        assert db.session.scalar(select(Screening.client_id)) == first
        memberships = db.session.scalars(
            select(HouseholdMember).where(HouseholdMember.client_id == second)
        ).all()
        assert memberships == []
        assert kept.household is not None
        assert {m.full_name for m in kept.household.members} >= {"Anak"}
        assert kept.occupation == "Pedagang sayur"  # kept's own value wins
        assert db.session.get(DuplicateCandidate, pair_id).status == "merged"
        assert kept.needs_review is False
        actions = set(
            db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(second)))
        )
        assert {"client.register", "client.update", "client.merged_into"} <= actions
    profile = supervisor.get(f"/clients/{first}").get_data(as_text=True)
    assert "Merged with a duplicate record" in profile
    assert "occupation: Pedagang sayur → Penjahit" in profile  # the duplicate's edit, kept
    # The merged record's address leads to the kept one.
    assert supervisor.get(f"/clients/{second}").headers["Location"].endswith(f"/clients/{first}")


def test_merge_moves_referrals_and_the_id_number_to_a_kept_record_without_one(app, register_client):
    no_id = register_client(full_name="Siti Aminah", id_type="none", id_number=None)
    body = payload(full_name="Siti Aminah")
    with_id = register_client(data=body)
    with app.test_request_context():
        from srs.agencies.models import Agency
        from srs.programmes.models import Programme

        agency = Agency(code="A1", name="A", country="ID")
        programme = Programme(code="P1", agency=agency, country="ID", kind="social_insurance")
        db.session.add_all([agency, programme])
        db.session.flush()
        region_id = db.session.get(Client, with_id).region_id
        db.session.add(
            Referral(client_id=with_id, programme_id=programme.id, agency_id=agency.id, region_id=region_id)
        )
        merge.merge_clients(db.session.get(Client, no_id), db.session.get(Client, with_id), user("admin"))
        db.session.commit()
        kept = db.session.get(Client, no_id)
        assert kept.id_number == body["id_number"] and kept.needs_id_followup is False
        assert db.session.scalar(select(Referral.client_id)) == no_id


def test_every_client_foreign_key_is_found(app_ctx):
    found = {(t.name, c.name) for t, c in merge.client_foreign_keys()}
    assert {
        ("screenings", "client_id"),
        ("referrals", "client_id"),
        ("household_members", "client_id"),
    } <= found
    assert ("clients", "merged_into_id") not in found


def test_register_page_shows_possible_duplicates_before_saving(app, register_client, login_as):
    register_client(full_name="Siti Aminah")
    officer = login_as("officer")
    form = {
        "full_name": "Siti  Aminah",
        "sex": "female",
        "date_of_birth": "1988-06-05",
        "id_type": "none",
        "region_code": VILLAGE_ID1,
        "consent_given": "y",
        "consent_date": "2026-01-10",
        "consent_scope": "Screening",
    }
    shown = officer.post("/clients/new", data=form)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Possible duplicates" in html and 'value="Siti  Aminah"' in html
    with app.app_context():
        assert db.session.query(Client).count() == 1
    saved = officer.post("/clients/new", data={**form, "confirm_not_duplicate": "y"})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.query(Client).count() == 2


# --- merging and households: the person ends up a member of one household, once -------------------


def _household_state(app) -> dict[int, list[tuple[str, str, int | None]]]:
    """Every household's members, checking the invariants the merge must keep on the way."""
    with app.app_context():
        households = db.session.scalars(select(Household).order_by(Household.id)).all()
        state = {}
        for household in households:
            members = household.members
            assert members, f"household {household.id} is empty"
            assert [m.relationship_to_head for m in members].count("head") == 1, household.id
            head = next(m for m in members if m.relationship_to_head == "head")
            assert head.client_id is not None
            state[household.id] = [(m.full_name, m.relationship_to_head, m.client_id) for m in members]
        linked = [cid for rows in state.values() for _n, _r, cid in rows if cid is not None]
        assert len(linked) == len(set(linked)), "a client is a member twice"
        for client in db.session.scalars(select(Client).where(Client.merged_into_id.is_(None))):
            rows = [hid for hid, members in state.items() for m in members if m[2] == client.id]
            assert client.household_id == (rows[0] if rows else None), client.id
        return state


def _add(app, head_id: int, **data) -> int:
    """Add a member to the head's household (started if needed); the household's id."""
    with app.test_request_context():
        head = db.session.get(Client, head_id)
        if "member_client_id" in data:
            data["member_client_id"] = str(data["member_client_id"])
        members.add_household_member(head, data, user("officer.id1"))
        db.session.commit()
        return head.household_id


def _merge(app, login_as, keep: int):
    """Merge through the review page, keeping ``keep``; the response and the review page after it."""
    with app.app_context():
        pair_id = db.session.scalar(select(DuplicateCandidate.id).where(DuplicateCandidate.status == "open"))
    supervisor = login_as("supervisor")
    response = supervisor.post(f"/clients/review/{pair_id}/merge", data={"keep": str(keep)})
    assert response.status_code == 302
    return supervisor, supervisor.get("/clients/review").get_data(as_text=True)


def _merge_entry(app, client_id: int) -> dict:
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "client.merge", AuditEntry.object_id == str(client_id)
            )
        )
        return entry.details["households"]


def test_merge_kept_client_without_household_takes_the_duplicates_place(app, register_client, login_as):
    keep, dup = _pair(register_client)
    joko = register_client(full_name="Joko", sex="male", date_of_birth="1984-01-01")
    household = _add(app, joko, member_client_id=dup, relationship_to_head="spouse", disability="yes")
    _supervisor, page = _merge(app, login_as, keep)
    state = _household_state(app)
    assert state[household] == [("Joko", "head", joko), ("Siti Aminah", "spouse", keep)]
    with app.app_context():
        member = db.session.scalar(select(HouseholdMember).where(HouseholdMember.client_id == keep))
        assert member.disability is True  # the duplicate's member facts stay
        assert db.session.get(Client, dup).household_id is None
        # The head's timeline says who the member is now.
        assert db.session.scalar(
            select(AuditEntry.id)
            .where(AuditEntry.object_id == str(joko), AuditEntry.action == "client.household")
            .order_by(AuditEntry.id.desc())
        )
    details = _merge_entry(app, keep)
    assert details["outcome"] == "joined" and details["household_id"] == household
    assert f"Siti Aminah took the merged record&#39;s place in household {household}." in page


def test_merge_in_the_same_household_drops_the_duplicates_row(app, register_client, login_as):
    keep, dup = _pair(register_client)
    household = _add(app, keep, member_client_id=dup, relationship_to_head="other", in_education="yes")
    _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    _supervisor, page = _merge(app, login_as, keep)
    state = _household_state(app)
    assert state == {household: [("Siti Aminah", "head", keep), ("Rina", "child", None)]}
    with app.app_context():
        member = db.session.scalar(select(HouseholdMember).where(HouseholdMember.client_id == keep))
        assert member.in_education is True  # known only on the duplicate's row: kept
    assert _merge_entry(app, keep)["outcome"] == "same"
    assert f"Both records were in household {household}: the second entry was removed." in page


def test_merge_in_the_same_household_where_the_duplicate_was_head(app, register_client, login_as):
    keep, dup = _pair(register_client)
    household = _add(app, dup, member_client_id=keep, relationship_to_head="spouse")
    _add(app, dup, full_name="Rina", relationship_to_head="child", sex="female")
    _add(app, dup, full_name="Sri", relationship_to_head="parent", sex="female")
    supervisor, page = _merge(app, login_as, keep)
    # The kept client became head first (change_head): the spouse's children stay children.
    assert _household_state(app) == {
        household: [("Siti Aminah", "head", keep), ("Rina", "child", None), ("Sri", "other_relative", None)]
    }
    details = _merge_entry(app, keep)
    assert details["outcome"] == "same" and details["new_head"] == "Siti Aminah"
    assert f"Siti Aminah is now the head of household {household}." in page
    with app.app_context():
        assert db.session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.object_id == str(keep), AuditEntry.action == "client.household_head"
            )
        )
    profile = supervisor.get(f"/clients/{keep}").get_data(as_text=True)
    assert f"Both records were in household {household}" in profile  # on the timeline


def test_merge_across_households_the_kept_client_stays_in_their_own(app, register_client, login_as):
    keep, dup = _pair(register_client)
    joko = register_client(full_name="Joko", sex="male", date_of_birth="1984-01-01")
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    other = _add(app, joko, member_client_id=dup, relationship_to_head="sibling")
    _add(app, joko, full_name="Bayu", relationship_to_head="child", sex="male")
    supervisor, page = _merge(app, login_as, keep)
    assert _household_state(app) == {
        own: [("Siti Aminah", "head", keep), ("Rina", "child", None)],
        other: [("Joko", "head", joko), ("Bayu", "child", None)],
    }
    details = _merge_entry(app, keep)
    assert details == {
        "household_id": other,
        "duplicate_relationship": "sibling",
        "outcome": "left",
        "kept_household_id": own,
        "kept_name": "Siti Aminah",
        "dissolved": False,
    }
    assert (
        f"The merged record was taken out of household {other}; Siti Aminah stays in household {own}." in page
    )
    # Joko's timeline says his sibling's record left with the merge.
    assert "Household member removed" in supervisor.get(f"/clients/{joko}").get_data(as_text=True)


def test_merge_across_households_a_registered_member_takes_over_as_head(app, register_client, login_as):
    keep, dup = _pair(register_client)
    joko = register_client(full_name="Joko", sex="male", date_of_birth="1984-01-01")
    agus = register_client(full_name="Agus", sex="male", date_of_birth="2004-05-05")
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    other = _add(app, dup, full_name="Wawan", relationship_to_head="other", sex="male")
    _add(app, dup, member_client_id=agus, relationship_to_head="child")
    _add(app, dup, member_client_id=joko, relationship_to_head="spouse")
    _add(app, dup, full_name="Dewi", relationship_to_head="child", sex="female")
    _supervisor, page = _merge(app, login_as, keep)
    # The spouse goes before the son; the children stay children of the new head.
    assert _household_state(app) == {
        own: [("Siti Aminah", "head", keep), ("Rina", "child", None)],
        other: [
            ("Wawan", "other", None),
            ("Agus", "child", agus),
            ("Joko", "head", joko),
            ("Dewi", "child", None),
        ],
    }
    details = _merge_entry(app, keep)
    assert details["new_head"] == "Joko" and details["new_head_client_id"] == joko
    assert f"Joko is now the head of household {other}." in page
    with app.app_context():
        heads = db.session.scalars(
            select(AuditEntry.object_id).where(AuditEntry.action == "client.household_head")
        ).all()
        assert str(joko) in heads


def test_merge_is_refused_when_nobody_registered_could_head_the_other_household(
    app, register_client, login_as
):
    keep, dup = _pair(register_client)
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    other = _add(app, dup, full_name="Wawan", relationship_to_head="other", sex="male")
    before = _household_state(app)
    _supervisor, page = _merge(app, login_as, keep)
    assert f"Record #{dup} is the head of household {other}, and none of its other members" in page
    assert _household_state(app) == before
    with app.app_context():
        assert db.session.get(Client, dup).merged_into_id is None
        assert db.session.get(Client, keep).id_type == "nik"  # nothing of the merge was kept
        assert db.session.scalar(select(DuplicateCandidate.status)) == "open"
    assert own != other


def test_merge_across_households_deletes_the_one_the_duplicate_was_alone_in(app, register_client, login_as):
    keep, dup = _pair(register_client)
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    with app.test_request_context():
        # A household of one: the duplicate alone (started by adding and removing a member).
        members.add_household_member(
            db.session.get(Client, dup),
            {"full_name": "X", "relationship_to_head": "other"},
            user("officer.id1"),
        )
        client = db.session.get(Client, dup)
        other = client.household_id
        members.remove_household_member(
            client, next(m for m in client.household.members if m.full_name == "X"), user("officer.id1")
        )
        db.session.commit()
    _supervisor, page = _merge(app, login_as, keep)
    assert _household_state(app) == {own: [("Siti Aminah", "head", keep), ("Rina", "child", None)]}
    assert _merge_entry(app, keep)["dissolved"] is True
    assert f"Household {other} had no other members and was deleted." in page


def test_merge_where_only_the_kept_client_has_a_household_changes_nothing(app, register_client, login_as):
    keep, _dup = _pair(register_client)
    own = _add(app, keep, full_name="Rina", relationship_to_head="child", sex="female")
    _merge(app, login_as, keep)
    assert _household_state(app) == {own: [("Siti Aminah", "head", keep), ("Rina", "child", None)]}
    assert _merge_entry(app, keep) is None


def test_the_database_refuses_a_client_in_two_households(app, register_client):
    first = register_client()
    joko = register_client(full_name="Joko", sex="male", date_of_birth="1984-01-01")
    _add(app, first, full_name="Rina", relationship_to_head="child", sex="female")
    other = _add(app, joko, full_name="Bayu", relationship_to_head="child", sex="male")
    with app.app_context():
        db.session.add(
            HouseholdMember(
                household_id=other, client_id=first, full_name="Siti", relationship_to_head="other"
            )
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # Members without a client record never clash.
        db.session.add_all(
            HouseholdMember(household_id=other, full_name=name, relationship_to_head="other") for name in "AB"
        )
        db.session.flush()
        db.session.rollback()


# --- a registration says nothing of matches outside the officer's area ---------------------------

PHONE = "081234567890"


def _flags(http, headers, client_id: int) -> tuple[bool, bool]:
    """(needs_review on the record, needs_review in the list) as the API shows them to the caller."""
    one = http.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()
    listed = http.get("/api/v1/clients?per_page=100", headers=headers).get_json()["items"]
    return one["needs_review"], next(c["needs_review"] for c in listed if c["id"] == client_id)


def test_a_registration_matching_only_someone_elsewhere_says_nothing_of_them(
    app, client, register_client, api_token, login_as
):
    # Registered in Kota Mojokerto (officer.id2); officer.id1 registers the same phone in Kabupaten.
    elsewhere = register_client(
        "officer.id2", full_name="Siti Rahma", region_code="35.76.01.1007", phone=PHONE
    )
    officer = api_token("officer")
    created = client.post("/api/v1/clients", json=payload(phone="0812 3456 7890"), headers=officer)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["possible_duplicates"] == [] and body["needs_review"] is False
    new_id = body["id"]
    assert _flags(client, officer, new_id) == (False, False)
    page = login_as("officer")
    assert "waiting for review" not in page.get(f"/clients/{new_id}").get_data(as_text=True)
    assert "possible duplicate" not in page.get("/clients/").get_data(as_text=True)
    # The pair is in the queue of the supervisor who covers both, who (like the admin) sees the flag.
    with app.app_context():
        pair = db.session.scalar(select(DuplicateCandidate))
        assert (pair.client_id, pair.other_client_id, pair.status) == (new_id, elsewhere, "open")
        assert db.session.get(Client, new_id).needs_review is True
    supervisor = login_as("supervisor")
    assert f"/clients/review/{pair.id}/merge" in supervisor.get("/clients/review").get_data(as_text=True)
    assert "waiting for review" in supervisor.get(f"/clients/{new_id}").get_data(as_text=True)
    assert _flags(client, api_token("supervisor"), new_id) == (True, True)
    assert _flags(client, api_token("admin"), new_id) == (True, True)
    # Neither the other district's officer nor the one who registered has it in a queue.
    assert login_as("officer2").get("/clients/review").status_code == 403


def test_a_registration_matching_someone_in_the_officers_area_says_so(
    app, client, register_client, api_token
):
    near = register_client(full_name="Siti Rahma", phone=PHONE)
    officer = api_token("officer")
    body = client.post("/api/v1/clients", json=payload(phone=PHONE), headers=officer).get_json()
    assert [d["id"] for d in body["possible_duplicates"]] == [near] and body["needs_review"] is True
    assert _flags(client, officer, body["id"]) == (True, True)


def test_the_register_page_does_not_warn_of_a_match_outside_the_officers_area(app, register_client, login_as):
    register_client("officer.id2", full_name="Siti Rahma", region_code="35.76.01.1007", phone=PHONE)
    form = {
        "full_name": "Siti Aminah",
        "sex": "female",
        "date_of_birth": "1988-06-05",
        "id_type": "none",
        "phone": PHONE,
        "region_code": VILLAGE_ID1,
        "consent_given": "y",
        "consent_date": "2026-01-10",
        "consent_scope": "Screening",
    }
    officer = login_as("officer")
    saved = officer.post("/clients/new", data=form, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Siti Aminah is registered." in html
    assert "review queue" not in html and "Possible duplicate" not in html
    # In the officer's own area the same registration is warned about, then flagged.
    register_client(full_name="Siti Rahayu", phone="081299990000")
    warned = officer.post("/clients/new", data={**form, "full_name": "Dewi", "phone": "081299990000"})
    assert warned.status_code == 200 and "Possible duplicates found" in warned.get_data(as_text=True)
    flagged = officer.post(
        "/clients/new",
        data={**form, "full_name": "Dewi", "phone": "081299990000", "confirm_not_duplicate": "y"},
        follow_redirects=True,
    )
    assert "sent to the review queue as a possible duplicate" in flagged.get_data(as_text=True)
