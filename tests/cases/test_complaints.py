"""Complaints: deadlines in working days, tracking numbers, statuses, escalation when overdue."""

from __future__ import annotations

from datetime import date, timedelta

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from srs.cases import complaints as svc
from srs.cases.models import Complaint, ComplaintCategory
from srs.core import clock
from srs.core.models import AuditEntry
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.workdays import PublicHoliday
from srs.extensions import db
from tests.cases.conftest import acting_as, make_client
from tests.factories import region


def _category(code: str) -> int:
    svc.ensure_categories()
    return db.session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == code))


def _take(
    app, login_as, *, category="light", received=None, client_id=None, region_code="35.16", role="officer"
):
    with app.app_context():
        cat = _category(category)
        region_id = region(region_code).id
        db.session.commit()
    data = {
        "channel": "phone",
        "category_id": cat,
        "subject": "No answer",
        "description": "Nobody called back",
        "region_id": region_id,
    }
    if received:
        data["received_on"] = received.isoformat()
    url = "/complaints/new" + (f"?client_id={client_id}" if client_id else "")
    return login_as(role).post(url, data=data)


def _complaint(app) -> Complaint:
    with app.app_context():
        return db.session.scalar(select(Complaint).order_by(Complaint.id.desc()))


def test_default_deadlines_follow_the_indonesian_rules(app, demo):
    with app.app_context():
        svc.ensure_categories()
        days = dict(db.session.execute(select(ComplaintCategory.code, ComplaintCategory.working_days)).all())
    assert days == {"light": 2, "normative": 5, "no_supervisory": 14, "investigation": 60}


def test_due_date_skips_the_weekend_and_a_public_holiday(app, login_as):
    with app.app_context():
        db.session.add(PublicHoliday(country="ID", day=date(2026, 8, 17), name="Hari Kemerdekaan"))
        db.session.commit()
    # Received on Friday 14 August 2026; Saturday, Sunday and Monday 17 August (a holiday) do not count.
    response = _take(app, login_as, category="light", received=date(2026, 8, 14))
    assert response.status_code == 302
    complaint = _complaint(app)
    assert complaint.due_on == date(2026, 8, 19)
    response = _take(app, login_as, category="normative", received=date(2026, 8, 14))
    assert _complaint(app).due_on == date(2026, 8, 24)


def test_admin_changes_a_deadline_for_new_complaints(app, login_as):
    with app.app_context():
        cat = _category("light")
        db.session.commit()
    admin = login_as("admin")
    bad = admin.post("/complaints/categories", data={f"days_{cat}": "zero"})
    assert bad.status_code == 422 and 'value="zero"' in bad.get_data(as_text=True)
    admin.post("/complaints/categories", data={f"days_{cat}": "3"})
    _take(app, login_as, category="light", received=date(2026, 11, 2))  # a Monday
    assert _complaint(app).due_on == date(2026, 11, 5)


def test_tracking_number_has_a_check_character_and_staff_look_it_up(app, login_as):
    response = _take(app, login_as, received=date(2026, 11, 20))
    complaint = _complaint(app)
    number = complaint.tracking_number
    assert number.startswith("CMP-2026-") and len(number) == len("CMP-2026-000001-X")
    assert number in login_as("officer").get(response.headers["Location"]).get_data(as_text=True)
    assert svc.normalise_tracking(number.lower().replace("-", " ")) == number
    serial = number[9:15]
    wrong_digit = number.replace(serial, serial[:-1] + str((int(serial[-1]) + 1) % 10))
    assert svc.normalise_tracking(wrong_digit) is None
    assert svc.normalise_tracking("CMP-2026-12") is None

    officer = login_as("officer")
    found = officer.get(f"/complaints/?q={number.lower()}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/complaints/{complaint.id}")
    # Another district's officer cannot find it: same answer as an unknown number.
    outsider = login_as("officer2").get(f"/complaints/?q={number}")
    assert outsider.status_code == 200 and "No complaint in your regions" in outsider.get_data(as_text=True)
    assert login_as("officer2").get(f"/complaints/{complaint.id}").status_code == 404


def test_bad_input_keeps_what_was_typed(app, login_as):
    with app.app_context():
        cat = _category("light")
        other_region = region("35.16").id
        db.session.commit()
    response = login_as("officer2").post(
        "/complaints/new",
        data={
            "channel": "office",
            "category_id": cat,
            "subject": "Queue too long",
            "description": "",
            "region_id": other_region,
            "received_on": "2026-13-01",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "2026-13-01 is not a date" in html and 'value="Queue too long"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    response = login_as("officer2").post(
        "/complaints/new",
        data={
            "channel": "office",
            "category_id": cat,
            "subject": "Queue",
            "description": "Long",
            "region_id": other_region,
        },
    )
    assert response.status_code == 422 and "Choose one of your regions." in response.get_data(as_text=True)


def test_statuses_need_reasons_and_only_move_forward(app, login_as):
    _take(app, login_as, received=date(2026, 11, 20))
    cid = _complaint(app).id
    officer = login_as("officer")
    response = officer.post(f"/complaints/{cid}/status", data={"status": "rejected", "text": ""})
    assert response.status_code == 422 and "Say why the complaint is rejected." in response.get_data(
        as_text=True
    )
    officer.post(f"/complaints/{cid}/status", data={"status": "in_progress"})
    assert _complaint(app).status == "in_progress"
    officer.post(f"/complaints/{cid}/status", data={"status": "resolved", "text": "Called back"})
    complaint = _complaint(app)
    assert complaint.status == "resolved" and complaint.resolution == "Called back"
    response = officer.post(
        f"/complaints/{cid}/status", data={"status": "in_progress"}, follow_redirects=True
    )
    assert "cannot be moved" in response.get_data(as_text=True)
    assert _complaint(app).status == "resolved"


def test_complaint_about_a_client_leads_to_a_data_correction(app, login_as):
    with acting_as(app):
        client_id = make_client(full_name="Wati").id
    _take(app, login_as, client_id=client_id, received=date(2026, 11, 20))
    complaint = _complaint(app)
    assert complaint.client_id == client_id
    response = login_as("officer").post(
        f"/complaints/{complaint.id}/followup", data={"kind": "data_correction"}
    )
    assert response.status_code == 302
    complaint = _complaint(app)
    assert (
        complaint.followup_kind == "data_correction"
        and complaint.followup_url == response.headers["Location"]
    )
    assert "Wati" in login_as("officer").get(f"/cases/client/{client_id}").get_data(as_text=True)


def test_overdue_complaint_is_escalated_once_by_the_periodic_job(app, login_as):
    today = clock.today()
    _take(app, login_as, category="light", received=today - timedelta(days=30))
    overdue_id = _complaint(app).id
    _take(app, login_as, category="investigation", received=today - timedelta(days=1))
    with app.app_context():
        for _ in range(2):
            get_queue().enqueue("srs.cases.jobs.escalate_overdue_complaints")
            SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)
        escalated = dict(db.session.execute(select(Complaint.id, Complaint.escalated_at)).all())
        entries = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "complaint.escalated")
        )
    assert escalated[overdue_id] is not None
    assert [cid for cid, at in escalated.items() if at is not None] == [overdue_id]
    assert entries == 1
    home = login_as("supervisor").get("/").get_data(as_text=True)
    assert "1 complaint past its deadline" in home and "1 escalated" in home
    listing = login_as("supervisor").get("/complaints/?overdue=1").get_data(as_text=True)
    assert "Escalated" in listing


def test_escalation_job_is_registered_as_periodic(app):
    from srs.core.wiring import wiring

    assert "srs.cases.jobs.escalate_overdue_complaints" in [job.func for job in wiring(app).periodic_jobs]


def test_complaint_and_case_lists_export_within_scope(app, login_as):
    import csv
    import io

    from openpyxl import load_workbook

    _take(app, login_as, received=date(2026, 11, 20))
    number = _complaint(app).tracking_number
    rows = list(
        csv.reader(io.StringIO(login_as("officer").get("/complaints/export.csv").get_data(as_text=True)))
    )
    assert rows[0][0].lstrip("\ufeff") == "Tracking number" and rows[1][0] == number
    rows = list(
        csv.reader(io.StringIO(login_as("officer2").get("/complaints/export.csv").get_data(as_text=True)))
    )
    assert len(rows) == 1  # another district: just the headers
    sheet = load_workbook(io.BytesIO(login_as("officer").get("/cases/export.xlsx").data)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Case"]


def test_a_category_or_region_id_past_any_record_is_a_message_not_a_500(app, login_as):
    huge = "99999999999999999999"
    data = {"channel": "phone", "subject": "No answer", "description": "Nobody called back"}
    response = login_as("officer").post(
        "/complaints/new", data={**data, "category_id": huge, "region_id": huge}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose a category." in html and "Choose one of your regions." in html
    assert 'value="No answer"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
    # Like any client number that names no client: the form without a client.
    assert login_as("officer").get(f"/complaints/new?client_id={huge}").status_code == 200
