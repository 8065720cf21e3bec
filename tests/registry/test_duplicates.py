"""Probable duplicates: flagged, reviewed by a supervisor, marked distinct or merged without loss."""

from __future__ import annotations

from sqlalchemy import insert, select

from srs.core.models import AuditEntry
from srs.extensions import db
from srs.programmes.models import Screening
from srs.referrals.models import Referral
from srs.registry import services
from srs.registry.models import Client, DuplicateCandidate, HouseholdMember
from tests.registry.conftest import VILLAGE_ID1, payload, user


def _pair(make_client):
    first = make_client(full_name="Siti Aminah", phone="081234567890")
    second = make_client(full_name="SITI  AMINAH", id_type="none", id_number=None)
    return first, second


def test_same_name_and_birth_in_district_is_flagged_not_blocked(app, make_client):
    first, second = _pair(make_client)
    with app.app_context():
        pair = db.session.scalar(select(DuplicateCandidate))
        assert (pair.client_id, pair.other_client_id, pair.reason) == (second, first, "name_birth_district")
        assert db.session.get(Client, second).needs_review is True


def test_same_phone_is_flagged(app, make_client):
    first = make_client(full_name="Siti Aminah", phone="081234567890")
    second = make_client(full_name="Dewi Sartika", date_of_birth="1990-01-01", phone="+62 812-3456-7890")
    with app.app_context():
        pair = db.session.scalar(select(DuplicateCandidate))
        assert (pair.client_id, pair.other_client_id, pair.reason) == (second, first, "phone")


def test_different_district_same_name_is_not_flagged(app, make_client):
    make_client(full_name="Siti Aminah")
    make_client("admin", full_name="Siti Aminah", region_code="35.76.01.1001")
    with app.app_context():
        assert db.session.scalar(select(DuplicateCandidate)) is None


def test_review_queue_mark_distinct(app, make_client, login_as):
    first, second = _pair(make_client)
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


def test_merge_repoints_every_reference_and_keeps_both_histories(app, make_client, login_as):
    first, second = _pair(make_client)
    with app.test_request_context():
        officer = user("officer.id1")
        dup = db.session.get(Client, second)
        services.update_client(dup, {"occupation": "Penjahit"}, officer, 1)
        services.add_household_member(
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
        members = db.session.scalars(select(HouseholdMember).where(HouseholdMember.client_id == second)).all()
        assert members == []
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


def test_merge_moves_referrals_and_the_id_number_to_a_kept_record_without_one(app, make_client):
    no_id = make_client(full_name="Siti Aminah", id_type="none", id_number=None)
    body = payload(full_name="Siti Aminah")
    with_id = make_client(data=body)
    with app.test_request_context():
        from srs.programmes.models import Agency, Programme

        agency = Agency(code="A1", name="A", country="ID")
        programme = Programme(code="P1", agency=agency, country="ID", kind="social_insurance")
        db.session.add_all([agency, programme])
        db.session.flush()
        region_id = db.session.get(Client, with_id).region_id
        db.session.add(
            Referral(client_id=with_id, programme_id=programme.id, agency_id=agency.id, region_id=region_id)
        )
        services.merge_clients(db.session.get(Client, no_id), db.session.get(Client, with_id), user("admin"))
        db.session.commit()
        kept = db.session.get(Client, no_id)
        assert kept.id_number == body["id_number"] and kept.needs_id_followup is False
        assert db.session.scalar(select(Referral.client_id)) == no_id


def test_every_client_foreign_key_is_found(app_ctx):
    found = {(t.name, c.name) for t, c in services.client_foreign_keys()}
    assert {
        ("screenings", "client_id"),
        ("referrals", "client_id"),
        ("household_members", "client_id"),
    } <= found
    assert ("clients", "merged_into_id") not in found


def test_register_page_shows_possible_duplicates_before_saving(app, make_client, login_as):
    make_client(full_name="Siti Aminah")
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
