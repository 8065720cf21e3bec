"""Every page that shows people's records leaves a trace: lists, searches, inboxes, the edit form."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from srs.accounts.models import User
from srs.cases import complaints as complaint_service
from srs.cases import services as case_services
from srs.cases.models import ComplaintCategory
from srs.core import audit
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.regions.models import Region
from srs.registry import services as registry_services
from tests.factories import refer
from tests.referrals.conftest import deliver_all, make_client
from tests.registry.conftest import nik_for, payload


def _last(app, action: str) -> AuditEntry:  # type: ignore[no-untyped-def]
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        )
    assert entry is not None, f"no {action} entry"
    return entry


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def records(app, demo) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A client of officer.id1's district with a referral to BPJSTK, a case with a task, a complaint."""
    with app.test_request_context():
        nik = nik_for(date(1988, 6, 5), "female")
        officer = _user("officer.id1")
        client = registry_services.register_client(payload(id_number=nik), officer).client
        other = make_client(full_name="Dewi Lestari")
        referral = refer(client)
        case = case_services.open_case(client, officer)
        db.session.flush()
        task = case_services.add_task(
            case,
            case_services.TaskInput(title="Call back", due_on=date(2030, 1, 6), assignee_id=officer.id),
            officer,
        )
        complaint_service.ensure_categories()
        category = db.session.scalar(select(ComplaintCategory).where(ComplaintCategory.code == "light"))
        region = db.session.scalar(select(Region).where(Region.code == "35.16"))
        complaint = complaint_service.create_complaint(
            complaint_service.ComplaintInput(
                channel="phone",
                category_id=category.id,
                subject="No answer",
                description="Nobody called back",
                region_id=region.id,
            ),
            officer,
        )
        commit()
        ids = {
            "nik": nik,
            "client": client.id,
            "other": other.id,
            "referral": referral.id,
            "case": case.id,
            "task": task.id,
            "complaint": complaint.id,
        }
        deliver_all()  # the referral reaches the agency's inbox
    return ids


def test_a_search_by_id_number_is_logged_masked_with_the_ids_it_showed(app, login_as, records):
    officer = login_as("officer")
    page = officer.get(f"/clients/?q={records['nik']}").get_data(as_text=True)
    assert "Siti Aminah" in page
    entry = _last(app, "client.search")
    assert entry.username == "officer.id1" and entry.object_type == "client"
    assert entry.details["ids"] == [records["client"]]
    assert entry.details["query"] == {"q": audit.mask_id_number(records["nik"])}
    assert records["nik"] not in str(entry.details)
    assert entry.details["total"] == 1 and entry.details["page"] == 1


def test_paging_through_a_district_leaves_a_trace_per_page(app, login_as, records):
    officer = login_as("officer")
    officer.get("/clients/?per_page=1&page=1")
    first = _last(app, "client.list")
    officer.get("/clients/?per_page=1&page=2")
    second = _last(app, "client.list")
    assert first.id != second.id
    assert (first.details["page"], second.details["page"]) == (1, 2)
    assert sorted(first.details["ids"] + second.details["ids"]) == sorted(
        [records["client"], records["other"]]
    )


def test_a_name_search_is_logged_as_typed(app, login_as, records):
    login_as("supervisor").get("/clients/?q=siti+aminah&region=35.16")
    entry = _last(app, "client.search")
    assert entry.details["query"] == {"q": "siti aminah", "region": "35.16"}
    assert entry.username == "supervisor.id"


def test_the_edit_form_is_a_read_of_the_full_record(app, login_as, records):
    officer = login_as("officer")
    assert officer.get(f"/clients/{records['client']}/edit").status_code == 200
    entry = _last(app, "client.read")
    assert entry.object_id == str(records["client"]) and entry.details == {"page": "edit"}


@pytest.mark.parametrize(
    ("role", "url", "action", "object_type", "record", "query"),
    [
        ("officer", "/cases/", "case.list", "case", "case", {}),
        (
            "officer",
            "/cases/?status=open&mine=1",
            "case.list",
            "case",
            "case",
            {"status": "open", "mine": True},
        ),
        ("officer", "/cases/tasks", "task.list", "task", "task", {}),
        ("officer", "/complaints/", "complaint.list", "complaint", "complaint", {}),
        (
            "supervisor",
            "/complaints/?status=open",
            "complaint.list",
            "complaint",
            "complaint",
            {"status": "open"},
        ),
        ("officer", "/referrals/", "referral.list", "referral", "referral", {}),
        (
            "supervisor",
            "/referrals/?status=delivered",
            "referral.list",
            "referral",
            "referral",
            {"status": "delivered"},
        ),
        (
            "agency_staff",
            "/referrals/inbox?status=all",
            "referral.inbox",
            "referral",
            "referral",
            {"status": "all"},
        ),
        ("admin", "/clients/", "client.list", "client", "client", {}),
    ],
)
def test_lists_record_who_saw_which_records(
    app, login_as, records, role, url, action, object_type, record, query
):
    response = login_as(role).get(url)
    assert response.status_code == 200
    entry = _last(app, action)
    assert entry.object_type == object_type
    assert records[record] in entry.details["ids"]
    assert entry.details["query"] == query
    if object_type == "referral":
        assert entry.details["client_ids"] == [records["client"]]


def test_an_empty_list_is_logged_too(app, login_as, records):
    login_as("officer2").get("/cases/")  # another district: nothing to show
    entry = _last(app, "case.list")
    assert entry.username == "officer.id2" and entry.details["ids"] == [] and entry.details["total"] == 0


def test_the_review_queue_names_both_clients_of_each_pair(app, login_as, demo):
    with app.test_request_context():
        officer = _user("officer.id1")
        first = registry_services.register_client(payload(phone="081234567001"), officer).client
        second = registry_services.register_client(
            payload(id_number=nik_for(date(1988, 6, 5), "female"), phone="081234567001"), officer
        ).client
        commit()
        pair = {first.id, second.id}
    assert login_as("supervisor").get("/clients/review").status_code == 200
    entry = _last(app, "duplicate.list")
    assert set(entry.details["ids"]) == pair


def test_api_list_pages_are_logged(app, client, api_token, records):
    officer = api_token("officer")
    assert client.get(f"/api/v1/clients?q={records['nik']}", headers=officer).status_code == 200
    entry = _last(app, "client.search")
    assert entry.details["channel"] == "api" and entry.details["ids"] == [records["client"]]
    assert records["nik"] not in str(entry.details)
    client.get("/api/v1/clients?per_page=1&page=2", headers=officer)
    assert _last(app, "client.list").details["page"] == 2
    client.get("/api/v1/referrals", headers=officer)
    assert _last(app, "referral.list").details["ids"] == [records["referral"]]
    client.get("/api/v1/referrals?status=delivered", headers=api_token("agency_staff"))
    inbox = _last(app, "referral.inbox")
    assert inbox.username == "agency.bpjstk" and inbox.details["query"] == {"status": "delivered"}


def test_a_dashboard_drill_down_names_the_clients_it_listed(app, login_as, records):
    response = login_as("supervisor").get("/reports/list/registered")
    assert response.status_code == 200
    entry = _last(app, "report.list")
    assert entry.object_type == "client" and records["client"] in entry.details["ids"]
    assert entry.details["query"]["kind"] == "registered"


def test_a_number_typed_into_any_list_filter_is_masked(app_ctx):
    entry = audit.record_list(
        "client.search",
        "client",
        [1],
        query={"q": "+62 812-3456-7890", "region": "35.16.08.2003", "date_from": "2026-01-31", "status": ""},
    )
    assert entry.details["query"] == {
        "q": "*********7890",
        "region": "35.16.08.2003",
        "date_from": "2026-01-31",
    }


@pytest.mark.parametrize(
    ("url", "action", "object_type", "record", "query"),
    [
        ("/cases/export.csv", "case.export", "case", "case", {}),
        ("/cases/export.xlsx?status=open", "case.export", "case", "case", {"status": "open"}),
        ("/complaints/export.csv", "complaint.export", "complaint", "tracking", {}),
        ("/reports/list/registered/export.csv", "report.export", "client", "client", {"kind": "registered"}),
        (
            "/reports/list/referrals/export.xlsx",
            "report.export",
            "referral",
            "referral",
            {"kind": "referrals"},
        ),
    ],
)
def test_an_export_names_every_record_that_left_in_the_file(
    app, login_as, records, url, action, object_type, record, query
):
    with app.app_context():
        from srs.cases.models import Complaint

        records["tracking"] = db.session.get(Complaint, records["complaint"]).tracking_number
    response = login_as("supervisor").get(url)
    assert response.status_code == 200
    entry = _last(app, action)
    assert entry.username == "supervisor.id" and entry.object_type == object_type
    assert records[record] in entry.details["ids"]
    assert entry.details["total"] == len(entry.details["ids"])
    assert entry.details["format"] == url.rsplit(".", 1)[1].split("?")[0]
    assert {k: v for k, v in entry.details["query"].items() if k in ("kind", "status")} == query
    if object_type in ("case", "referral"):
        assert entry.details["client_ids"] == [records["client"]]
