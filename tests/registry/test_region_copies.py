"""Scope follows the record: once a client moves to another district, or is merged into a record of
another district, the client's referral, case, tasks and complaint belong to the new district for
every role, on the pages and in the API; the records that copy the client's region say so, and the
dashboard's facts with them."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from srs.accounts import services as accounts
from srs.cases import complaints as complaint_service
from srs.cases.models import Case, Complaint, ComplaintCategory, FollowUpTask
from srs.core import clock
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Referral
from srs.regions.models import Region
from srs.registry import region_copies
from srs.registry.models import Client, DuplicateCandidate
from srs.reports import facts
from srs.reports.models import ReferralFact
from tests.conftest import DEMO_PASSWORD, login
from tests.factories import make_programme, refer, region
from tests.referrals.conftest import make_client, run_jobs

OLD_VILLAGE = "35.16.08.2003"  # Kabupaten Mojokerto: officer.id1, supervisor.kab
NEW_VILLAGE = "35.76.01.1007"  # Kota Mojokerto: officer.id2, supervisor.kota
TASK_TITLE = "Bring the family card"

# Who reaches the records of a client of Kabupaten Mojokerto (old) / Kota Mojokerto (new).
OLD_DISTRICT = ("officer.id1", "supervisor.kab")
NEW_DISTRICT = ("officer.id2", "supervisor.kota")
BOTH = ("supervisor.id", "admin")  # the province's supervisor, and the admin


@dataclass
class World:
    client_id: int
    referral_id: int
    case_id: int
    task_id: int
    complaint_id: int
    tracking_number: str


def _supervisors() -> None:
    for username, code in (("supervisor.kab", "35.16"), ("supervisor.kota", "35.76")):
        accounts.create_user(
            accounts.UserInput(
                username=username,
                full_name=username,
                email=f"{username}@example.org",
                role="supervisor",
                region_codes=[code],
                agency_code=None,
                password=DEMO_PASSWORD,
            )
        )


def _signed_in(app, username: str):  # type: ignore[no-untyped-def]
    http = app.test_client()
    assert login(http, username).status_code == 302, username
    return http


def _token(app, username: str) -> dict[str, str]:
    response = app.test_client().post(
        "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _world(app, village: str = OLD_VILLAGE, name: str = "Sri Wahyuni", by: str = "officer.id1") -> World:
    """A client of ``village`` with a delivered referral, a case with a task and a complaint, all
    made by an officer of that district through the pages."""
    with app.test_request_context():
        client = make_client(village, full_name=name)
        client.consent_date, client.consent_scope = clock.today(), "Screening and referral"
        referral = refer(client, make_programme(), by=by)
        client_id, referral_id = client.id, referral.id
        complaint_service.ensure_categories()
        category_id = db.session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == "light"))
        commit()
        run_jobs()  # delivered: the agency sees it
    officer = _signed_in(app, by)
    assert officer.post(f"/cases/client/{client_id}", data={}).status_code == 302
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.client_id == client_id))
        case_id, officer_id = case.id, case.officer_id
        due = (clock.today() + timedelta(days=3)).isoformat()
    added = officer.post(
        f"/cases/{case_id}/tasks", data={"title": TASK_TITLE, "due_on": due, "assignee_id": officer_id}
    )
    assert added.status_code == 302
    taken = officer.post(
        f"/complaints/new?client_id={client_id}",
        data={"channel": "phone", "category_id": category_id, "subject": "No answer", "description": "None"},
    )
    assert taken.status_code == 302, taken.get_data(as_text=True)[:300]
    with app.app_context():
        task_id = db.session.scalar(select(FollowUpTask.id).where(FollowUpTask.case_id == case_id))
        complaint = db.session.scalar(select(Complaint).where(Complaint.client_id == client_id))
        return World(client_id, referral_id, case_id, task_id, complaint.id, complaint.tracking_number)


def _reach(app, username: str, w: World) -> dict[str, Any]:
    """What ``username`` reaches of the world, page by page and in the API (status codes, or whether
    the record is in a list)."""
    http, api = _signed_in(app, username), _token(app, username)
    listed = http.get("/referrals/")
    api_list = http.get("/api/v1/referrals?per_page=100", headers=api)
    complaints = http.get("/complaints/")
    tasks = http.get("/cases/tasks")
    case_page = http.get(f"/cases/client/{w.client_id}")
    return {
        "referral page": http.get(f"/referrals/{w.referral_id}").status_code,
        "referral api": http.get(f"/api/v1/referrals/{w.referral_id}", headers=api).status_code,
        "referral listed": listed.status_code == 200 and f'/referrals/{w.referral_id}"' in listed.text,
        "referral listed api": api_list.status_code == 200
        and w.referral_id in {r["id"] for r in api_list.get_json()["items"]},
        "client api": http.get(f"/api/v1/clients/{w.client_id}", headers=api).status_code,
        "case page": case_page.status_code,
        "task on case page": case_page.status_code == 200 and TASK_TITLE in case_page.text,
        "task listed": tasks.status_code == 200 and TASK_TITLE in tasks.text,
        "complaint page": http.get(f"/complaints/{w.complaint_id}").status_code,
        "complaint listed": complaints.status_code == 200 and w.tracking_number in complaints.text,
    }


def _sees_all(task_listed: bool = False) -> dict[str, Any]:
    return {
        "referral page": 200,
        "referral api": 200,
        "referral listed": True,
        "referral listed api": True,
        "client api": 200,
        "case page": 200,
        "task on case page": True,
        "task listed": task_listed,
        "complaint page": 200,
        "complaint listed": True,
    }


NOTHING = {
    "referral page": 404,
    "referral api": 404,
    "referral listed": False,
    "referral listed api": False,
    "client api": 404,
    "case page": 404,
    "task on case page": False,
    "task listed": False,
    "complaint page": 404,
    "complaint listed": False,
}
# Agency staff reach the delivered referral through their agency, whatever the client's region.
AGENCY = {
    "referral page": 200,
    "referral api": 200,
    "referral listed": False,  # their list is the inbox, not /referrals/
    "referral listed api": True,
    "client api": 403,
    "case page": 403,
    "task on case page": False,
    "task listed": False,
    "complaint page": 403,
    "complaint listed": False,
}


def _expected(where: str, username: str) -> dict[str, Any]:
    """What ``username`` must reach while the client's records lie in ``where`` (old or new)."""
    if username == "agency.bpjstk":
        return AGENCY
    if username in BOTH:
        return _sees_all()
    covering = OLD_DISTRICT if where == "old" else NEW_DISTRICT
    if username not in covering:
        return NOTHING
    # The task stays assigned to officer.id1, who only lists it while it is in their district.
    return _sees_all(task_listed=username == "officer.id1")


EVERY_ROLE = (*OLD_DISTRICT, *NEW_DISTRICT, *BOTH, "agency.bpjstk")


def _assert_reach(app, where: str, w: World) -> None:
    for username in EVERY_ROLE:
        assert _reach(app, username, w) == _expected(where, username), (where, username)


def _copies(app, w: World) -> set[str]:
    """The regions the world's referral, case, complaint and referral fact carry (those it has)."""
    with app.app_context():
        records = [
            db.session.get(Referral, w.referral_id),
            db.session.get(Case, w.case_id),
            db.session.get(Complaint, w.complaint_id),
            *db.session.scalars(select(ReferralFact).where(ReferralFact.referral_id == w.referral_id)),
        ]
        return {db.session.get(Region, r.region_id).code for r in records if r is not None}


def _cancel(app, username: str, w: World, via: str) -> int:
    """The status of ``username`` cancelling the referral (at its current version) on the page or API."""
    with app.app_context():
        version = db.session.get(Referral, w.referral_id).version
    http = _signed_in(app, username)
    if via == "page":
        return http.post(
            f"/referrals/{w.referral_id}/cancel", data={"version": version, "reason": "moved"}
        ).status_code
    api = _token(app, username)
    return http.post(
        f"/api/v1/referrals/{w.referral_id}/cancel", json={"version": version, "reason": "moved"}, headers=api
    ).status_code


def _cancel_attempts(app, username: str, w: World) -> tuple[int, int]:
    return _cancel(app, username, w, "page"), _cancel(app, username, w, "api")


def _status(app, w: World) -> str:
    with app.app_context():
        return db.session.get(Referral, w.referral_id).status


def _move_by_api(app, client_id: int, village: str) -> None:
    admin = _token(app, "admin")
    http = app.test_client()
    current = http.get(f"/api/v1/clients/{client_id}", headers=admin)
    moved = http.patch(
        f"/api/v1/clients/{client_id}",
        json={"region_code": village},
        headers={**admin, "If-Match": current.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["region_code"] == village


@pytest.fixture
def world(app, demo) -> World:
    with app.test_request_context():
        _supervisors()
        commit()
    return _world(app)


def test_a_client_moved_by_the_api_takes_their_records_to_the_new_district_for_every_role(app, world):
    _assert_reach(app, "old", world)
    assert _copies(app, world) == {OLD_VILLAGE}
    _move_by_api(app, world.client_id, NEW_VILLAGE)
    assert _copies(app, world) == {NEW_VILLAGE}
    _assert_reach(app, "new", world)
    # The old district can neither cancel nor act on the case, tasks and complaint any more.
    for username in OLD_DISTRICT:
        assert _cancel_attempts(app, username, world) == (404, 404), username
    assert _status(app, world) == "delivered"
    old = _signed_in(app, "officer.id1")
    assert old.post(f"/cases/{world.case_id}/notes", data={"body": "still mine?"}).status_code == 404
    assert old.post(f"/cases/{world.case_id}/tasks/{world.task_id}/done").status_code == 404
    assert (
        old.post(f"/complaints/{world.complaint_id}/status", data={"status": "resolved"}).status_code == 404
    )
    # The new district's officer works the case and cancels the referral.
    new = _signed_in(app, "officer.id2")
    assert new.post(f"/cases/{world.case_id}/notes", data={"body": "Moved to the city."}).status_code == 302
    assert _cancel(app, "officer.id2", world, "page") == 302
    assert _status(app, world) == "cancelled"
    assert "Moved to the city." in new.get(f"/cases/client/{world.client_id}").text


def test_a_client_moved_on_the_edit_page_takes_their_records_along(app, world):
    admin = _signed_in(app, "admin")
    form = {
        "version": "1",
        "full_name": "Sri Wahyuni",
        "sex": "female",
        "date_of_birth": "1985-04-12",
        "id_type": "none",
        "id_number": "",
        "phone": "081234567890",
        "region_code": NEW_VILLAGE,
        "address": "Jl. Majapahit 1",
        "monthly_income": "1500000",
        "occupation": "Street vendor",
        "poverty_status": "unknown",
        "consent_given": "y",
        "consent_date": "2026-01-10",
        "consent_scope": "Screening and referral",
    }
    with app.app_context():
        form["version"] = str(db.session.get(Client, world.client_id).version)
    saved = admin.post(f"/clients/{world.client_id}/edit", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    assert _copies(app, world) == {NEW_VILLAGE}
    for username in ("officer.id1", "officer.id2", "supervisor.kab", "supervisor.kota"):
        assert _reach(app, username, world) == _expected("new", username), username
    assert _cancel_attempts(app, "officer.id1", world) == (404, 404)
    assert _cancel(app, "supervisor.kota", world, "api") == 200
    assert _status(app, world) == "cancelled"


def test_moving_back_and_forth_keeps_the_facts_and_summaries_exact(app, world):
    _move_by_api(app, world.client_id, NEW_VILLAGE)
    _move_by_api(app, world.client_id, OLD_VILLAGE)
    _move_by_api(app, world.client_id, NEW_VILLAGE)
    with app.app_context():
        assert facts.drift() == {}
        kept = sorted((f.referral_id, f.region_id) for f in db.session.scalars(select(ReferralFact)))
        from tests.reports.test_referral_facts import summary_rows

        summaries = summary_rows()
        facts.rebuild_referrals()
        assert sorted((f.referral_id, f.region_id) for f in db.session.scalars(select(ReferralFact))) == kept
        assert summary_rows() == summaries
        db.session.rollback()
    # The agency's decision in flight is not refused: the move did not touch the referral's version.
    with app.app_context():
        version = db.session.get(Referral, world.referral_id).version
    staff = app.test_client()
    accepted = staff.post(
        f"/api/v1/referrals/{world.referral_id}/accept",
        json={"version": version},
        headers=_token(app, "agency.bpjstk"),
    )
    assert accepted.status_code == 200 and version == 2  # created 1, delivered 2: the moves left it


def pair_across_districts(app, w: World) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A record of the new district paired as a possible duplicate with the world's client:
    (the record to keep, the pair)."""
    with app.test_request_context():
        keep = make_client(NEW_VILLAGE, full_name="Sri Wahyuni W.")
        pair = DuplicateCandidate(client_id=keep.id, other_client_id=w.client_id, reason="phone")
        db.session.add(pair)
        commit()
        return keep.id, pair.id


def test_a_merge_across_districts_takes_the_duplicates_records_to_the_kept_clients_district(app, world):
    keep_id, pair_id = pair_across_districts(app, world)
    # Only the supervisor who covers both districts has the pair in the queue.
    assert f"/clients/review/{pair_id}/merge" in _signed_in(app, "supervisor.id").get("/clients/review").text
    for username in ("supervisor.kab", "supervisor.kota"):
        assert f"/clients/review/{pair_id}/merge" not in _signed_in(app, username).get("/clients/review").text
    merged = _signed_in(app, "supervisor.id").post(f"/clients/review/{pair_id}/merge", data={"keep": keep_id})
    assert merged.status_code == 302
    assert _copies(app, world) == {NEW_VILLAGE}
    kept = dataclasses.replace(world, client_id=keep_id)
    _assert_reach(app, "new", kept)
    for username in OLD_DISTRICT:
        assert _cancel_attempts(app, username, kept) == (404, 404), username
    assert _cancel(app, "officer.id2", kept, "api") == 200
    with app.app_context():
        assert facts.drift() == {}
        [fact] = db.session.scalars(select(ReferralFact)).all()
        assert fact.client_id == keep_id and not fact.multi_region


def test_a_copy_made_from_a_client_read_before_a_move_takes_the_region_the_move_gave(app, demo):
    with app.test_request_context():
        programme = make_programme()
        programme_id, agency_id = programme.id, programme.agency_id
        client_id = make_client(OLD_VILLAGE).id
        commit()
    with app.test_request_context():
        client = db.session.get(Client, client_id)
        stale = client.region_id
        # Another request moves her and commits, while this one still holds the old region.
        with Session(db.engine) as other:
            other.get(Client, client_id).region_id = region(NEW_VILLAGE).id
            other.commit()
        assert client.region_id == stale
        referral = Referral(
            client_id=client_id, programme_id=programme_id, agency_id=agency_id, region_id=stale
        )
        db.session.add(referral)
        db.session.flush()
        assert referral.region_id == region(NEW_VILLAGE).id
        referral_id = referral.id
        commit()
    assert _copies(app, World(client_id, referral_id, 0, 0, 0, "")) == {NEW_VILLAGE}


def test_a_copy_made_while_a_move_is_being_written_waits_for_it_and_takes_the_new_region(app, demo):
    """PostgreSQL: the move holds its client's row until it commits; a referral made meanwhile waits
    for it (the listener locks the client before writing the copy) and then takes the new region."""
    with app.test_request_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite writes one transaction at a time")
        programme = make_programme()
        programme_id, agency_id = programme.id, programme.agency_id
        client_id = make_client(OLD_VILLAGE).id
        new_region = region(NEW_VILLAGE).id
        commit()
    moving = threading.Event()

    def move() -> None:
        with app.app_context(), Session(db.engine) as other:
            other.get(Client, client_id).region_id = new_region
            other.flush()  # the client's row is locked from here to the commit
            moving.set()
            time.sleep(0.5)
            other.commit()

    with app.test_request_context():
        stale = db.session.get(Client, client_id).region_id
        mover = threading.Thread(target=move)
        mover.start()
        assert moving.wait(10)
        referral = Referral(
            client_id=client_id, programme_id=programme_id, agency_id=agency_id, region_id=stale
        )
        db.session.add(referral)
        db.session.flush()
        mover.join(10)
        assert referral.region_id == new_region
        referral_id = referral.id
        commit()
    assert _copies(app, World(client_id, referral_id, 0, 0, 0, "")) == {NEW_VILLAGE}


def test_every_table_with_a_region_is_the_client_a_copy_that_follows_it_or_has_its_own(app_ctx):
    followers = {table.name for table, _column in region_copies.copy_tables()}
    # A data-subject request follows its client too: the officers of the new district answer it.
    assert followers == {"referrals", "cases", "complaints", "data_subject_requests"}
    # Their own region: a household lives at its address, a user works in theirs; client_names follows
    # by trigger; the report tables are rebuilt from the records by srs.reports.facts.
    own = {
        "clients",
        "user_regions",
        "client_names",
        "households",
        "report_screening_facts",
        "report_referral_facts",
        "report_referral_months",
        "report_referral_month_decisions",
        "report_referral_month_firsts",
    }
    with_region = {t.name for t in db.metadata.sorted_tables if "region_id" in t.c}
    assert with_region - followers - own == set(), "a new table with a region: does it follow its client?"
