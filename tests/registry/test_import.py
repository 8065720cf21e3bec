"""Bulk import as an RQ job on a real worker: bad rows skipped and reported, re-import adds nobody."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from srs.core.models import AuditEntry
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.extensions import db
from srs.registry.importer import COLUMNS
from srs.registry.models import Client, ImportBatch
from tests.registry.conftest import VILLAGE_ID1, nik_for

BAD_ROWS = {
    # row number in the file (header is row 1) -> how the row is broken
    7: {"sex": "male"},  # a woman's NIK with sex male
    20: {"date_of_birth": "2099-01-01"},
    55: {"monthly_income": "-100"},
    120: {"region_code": "35.76.01.1007"},  # outside officer.id1's area
    199: {"phone": "12"},
}


def survey_csv(rows: int = 200) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for i in range(rows):
        birth = date(1960, 1, 1) + timedelta(days=97 * i)
        row = {c: "" for c in COLUMNS}
        row.update(
            id_type="nik" if i % 10 else "none",
            id_number=nik_for(birth, "female") if i % 10 else "",
            full_name=f"Warga Desa {i:03d}",
            sex="female",
            date_of_birth=birth.isoformat(),
            phone=f"0812{i:08d}",
            region_code=VILLAGE_ID1,
            monthly_income="1000000",
            disability="tidak",
            consent_given="ya",
            consent_date="2026-01-10",
            consent_scope="Survey",
        )
        row.update(BAD_ROWS.get(i + 2, {}))
        writer.writerow(row)
    return out.getvalue().encode()


def _work(app):
    with app.app_context():
        SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)


def _upload(officer, content: bytes, name: str = "survey.csv"):
    return officer.post(
        "/clients/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_200_rows_with_5_bad_import_195_and_report_them(app, login_as):
    officer = login_as("officer")
    content = survey_csv()
    response = _upload(officer, content)
    assert response.status_code == 302
    status_url = response.headers["Location"] + "/status"
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "<progress" in page and "js/registry.js" in page
    assert officer.get(status_url).get_json()["status"] == "queued"
    _work(app)
    status = officer.get(status_url).get_json()
    assert status == {
        "status": "done",
        "total": 200,
        "processed": 200,
        "imported": 195,
        "already_registered": 0,
        "skipped": 5,
        "done": True,
    }
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 195
        batch_id = db.session.scalar(select(ImportBatch.id))
        first_id = db.session.scalar(select(Client.id).order_by(Client.id))
        logged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "clients.import")).all()
        assert sum(len(e.details["client_ids"]) for e in logged) == 195
    profile = officer.get(f"/clients/{first_id}").get_data(as_text=True)
    assert "Registered" in profile and f"Bulk import #{batch_id}" in profile
    report = officer.get(f"/clients/import/{batch_id}/report.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(report)))[1:]
    assert [int(r[0]) for r in rows] == sorted(BAD_ROWS)
    reasons = dict((int(r[0]), r[1]) for r in rows)
    assert "woman" in reasons[7] and "future" in reasons[20] and "35.76.01.1007" in reasons[120]

    again = _upload(officer, content)
    _work(app)
    second = officer.get(again.headers["Location"] + "/status").get_json()
    assert second["imported"] == 0 and second["already_registered"] == 195 and second["skipped"] == 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 195


def test_xlsx_and_sample_files(app, login_as):
    officer = login_as("officer")
    sample = officer.get("/clients/import/sample.xlsx")
    assert sample.status_code == 200
    sheet = load_workbook(io.BytesIO(sample.data)).active
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert officer.get("/clients/import/sample.csv").get_data(as_text=True).startswith("id_type,id_number")
    response = _upload(officer, sample.data, "sample.xlsx")
    assert response.status_code == 302
    _work(app)
    status = officer.get(response.headers["Location"] + "/status").get_json()
    assert status["imported"] == 2 and status["skipped"] == 0


def test_a_file_without_the_needed_columns_is_refused_at_once(login_as):
    response = _upload(login_as("officer"), b"name,age\nx,1\n")
    assert response.status_code == 422
    assert "Missing columns" in response.get_data(as_text=True)


def test_another_officers_import_is_404(app, login_as):
    response = _upload(login_as("officer"), survey_csv(3))
    assert login_as("officer2").get(response.headers["Location"]).status_code == 404
