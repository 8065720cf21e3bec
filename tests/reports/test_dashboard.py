"""The supervisor dashboard and its lists, checked against data made the way officers and agencies would."""

from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace

from openpyxl import load_workbook
from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.reports import services
from tests.cases.conftest import acting_as
from tests.reports.data import build_world


def _board(app, username="supervisor.id", **args):
    """The dashboard's numbers, read while the session is open (districts keyed by region code)."""
    with acting_as(app, username):
        board = services.dashboard(services.parse_filters(args))
        snapshot = SimpleNamespace(
            **{k: v for k, v in board.__dict__.items() if k not in ("filters", "districts")}
        )
        snapshot.share_successful = board.share_successful
        snapshot.districts = {row["region"].code: {**row, "region": None} for row in board.districts}
        return snapshot


def test_dashboard_numbers_match_the_data_within_the_supervisors_province(app, demo):
    build_world(app)
    board = _board(app)
    assert board.registered == 3  # the Yogyakarta client is outside, Eko registered two years ago
    assert board.screened == 3
    assert board.eligible == 3
    assert board.gap == 1  # Ani is eligible for JKN PBI and was not referred to it
    assert board.referrals == {"completed": 2, "declined": 1, "pending": 1, "delivered": 1}
    assert board.referrals_total == 5
    assert (board.completed, board.successful, board.share_successful) == (2, 1, 0.5)
    assert board.median_days == 4.0
    assert board.overdue_referrals == 1
    assert board.overdue_complaints == 1
    by_code = board.districts
    assert set(by_code) == {"35.16", "35.76"}
    assert (by_code["35.16"]["registered"], by_code["35.16"]["referrals"], by_code["35.16"]["overdue"]) == (
        2,
        3,
        1,
    )
    assert (by_code["35.76"]["registered"], by_code["35.76"]["referrals"], by_code["35.76"]["overdue"]) == (
        1,
        2,
        0,
    )
    assert sum(board.trend_referrals.values()) == 5


def test_admin_sees_every_region(app, demo):
    build_world(app)
    board = _board(app, "admin")
    assert board.registered == 4 and board.overdue_referrals == 2 and board.overdue_complaints == 2


def test_filters_narrow_the_numbers(app, demo):
    build_world(app)
    assert _board(app, sex="male").registered == 1
    assert _board(app, sex="male").referrals == {"completed": 1, "delivered": 1}
    assert _board(app, age_group="15-24").registered == 1  # Citra, born 2004
    assert _board(app, region="35.76").referrals_total == 2
    assert _board(app, programme="ID-JKN-PBI").gap == 1
    assert _board(app, programme="ID-BPJSTK-BPU").gap == 0
    assert _board(app, disability="yes").registered == 0


def test_dashboard_page_links_every_number_to_its_list(app, login_as):
    build_world(app)
    page = login_as("supervisor").get("/reports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'data-testid="funnel"' in html and "style=" not in html
    assert "/reports/list/overdue_referrals?" in html and "region=35.16" in html
    assert (
        "/reports/list/gap?" in html
        and "Kota Mojokerto" in html
        and "Yogyakarta" not in html.split("<main")[1]
    )
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report.dashboard")) is not None
        )


def test_the_monthly_summary_links_open_the_periods_last_month(app, login_as):
    supervisor = login_as("supervisor")
    html = supervisor.get("/reports/?from=2026-01-01&to=2026-03-15&sex=female").get_data(as_text=True)
    links = re.findall(r'href="(/reports/monthly[^"]*)"', html)
    assert len(links) == 2 and all("month=2026-03" in link and "sex=female" in link for link in links)
    # A period reaching into the future: this month's summary, not an empty one to come.
    html = supervisor.get("/reports/?from=2026-01-01&to=2030-12-31").get_data(as_text=True)
    with app.app_context():
        this_month = clock.today().isoformat()[:7]
    assert f"month={this_month}" in re.findall(r'href="(/reports/monthly\.pdf[^"]*)"', html)[0]


def test_officers_and_agencies_cannot_open_reports(app, login_as):
    for role in ("officer", "agency_staff"):
        assert login_as(role).get("/reports/").status_code == 403
        assert login_as(role).get("/reports/list/registered").status_code == 403


def test_bad_filters_get_a_clear_message_and_no_data(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    response = supervisor.get("/reports/?from=2026-02-30")
    assert response.status_code == 422
    assert "2026-02-30 is not a date" in response.get_data(as_text=True)
    response = supervisor.get("/reports/?from=2026-05-01&to=2026-04-01")
    assert response.status_code == 422 and "The end date is before the start date." in response.get_data(
        as_text=True
    )
    response = supervisor.get("/reports/?region=34.71")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "34.71 is not one of your regions." in html
    assert "Dian Yogya" not in html and 'data-testid="kpi-registered"' not in html
    response = supervisor.get("/reports/list/registered?region=34.71")
    assert response.status_code == 422 and "Dian Yogya" not in response.get_data(as_text=True)
    assert supervisor.get("/reports/list/registered/export.csv?region=34.71").status_code == 422


def test_drill_down_lists_the_rows_behind_each_number(app, login_as):
    world = build_world(app)
    supervisor = login_as("supervisor")
    html = supervisor.get("/reports/list/overdue_referrals?region=35.16").get_data(as_text=True)
    assert "Eko Prasetyo" in html and "Dian Yogya" not in html
    html = supervisor.get("/reports/list/gap").get_data(as_text=True)
    assert "Ani Lestari" in html and "ID-JKN-PBI" in html and "Bambang" not in html
    html = supervisor.get("/reports/list/referrals?status=completed").get_data(as_text=True)
    assert "Ani Lestari" in html and "Bambang Irawan" in html and "Citra" not in html
    page1 = supervisor.get("/reports/list/registered?per_page=2").get_data(as_text=True)
    assert "Page 1 of 2" in page1 and "3 results" in page1
    page2 = supervisor.get("/reports/list/registered?per_page=2&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page2
    assert f"/cases/client/{world.e}" in supervisor.get("/reports/list/overdue_referrals").get_data(
        as_text=True
    )
    assert "T-35.76.01" in supervisor.get("/reports/list/overdue_complaints").get_data(as_text=True)
    assert supervisor.get("/reports/list/nonsense").status_code == 404


def test_csv_and_xlsx_exports_hold_the_list(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    response = supervisor.get("/reports/list/referrals/export.csv?status=completed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Referral", "Client", "Name"]
    assert sorted(r[2] for r in rows[1:]) == ["Ani Lestari", "Bambang Irawan"]

    response = supervisor.get("/reports/list/overdue_referrals/export.xlsx?region=35.16")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2 and values[1][2] == "Eko Prasetyo" and values[1][5] == "Delivered"

    response = supervisor.get("/reports/summary.xlsx")
    summary = {
        row[0]: row[1] for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
    }
    assert summary["Clients registered"] == 3 and summary["Overdue referrals"] == 1
    with app.app_context():
        exports = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).all()
    assert len(exports) == 3 and exports[0].username == "supervisor.id"


def test_a_list_whose_title_has_a_colon_exports_as_xlsx(app, login_as):
    # "Referrals: completed" is no valid Excel sheet name; the export must not fail on it.
    build_world(app)
    response = login_as("supervisor").get("/reports/list/referrals/export.xlsx?status=completed")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.active.title == "Referrals Completed"
    assert sorted(row[2] for row in list(workbook.active.iter_rows(values_only=True))[1:]) == [
        "Ani Lestari",
        "Bambang Irawan",
    ]


def test_an_empty_selection_exports_just_the_headers(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    response = supervisor.get("/reports/list/overdue_referrals/export.xlsx?region=35.76")
    values = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert len(values) == 1 and values[0][0] == "Referral"
    response = supervisor.get("/reports/list/gap/export.csv?programme=ID-BPJSTK-BPU")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["Client", "Name", "Region", "Programme", "Screened"]]


def test_monthly_summary_per_district_prints_and_exports(app, login_as):
    build_world(app)

    month = clock.today().strftime("%Y-%m")
    supervisor = login_as("supervisor")
    html = supervisor.get(f"/reports/monthly?month={month}").get_data(as_text=True)
    assert (
        "Kabupaten Mojokerto" in html and "Kota Mojokerto" in html and 'data-testid="monthly-table"' in html
    )
    response = supervisor.get(f"/reports/monthly.csv?month={month}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[1] for r in rows[1:]] == ["35.16", "35.76"]
    assert supervisor.get("/reports/monthly?month=2026-13").status_code == 422
    # The export's audit entry says which selection left the office, filters included.
    supervisor.get(f"/reports/monthly.xlsx?month={month}&sex=female")
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "report.export").order_by(AuditEntry.id.desc())
        ).first()
    assert entry.details["format"] == "xlsx" and entry.details["month"] == month
    assert entry.details["sex"] == "female"


def test_each_number_has_as_many_rows_as_its_list(app, login_as):
    build_world(app)
    board = _board(app)
    supervisor = login_as("supervisor")
    expected = {
        "registered": board.registered,
        "screened": board.screened,
        "eligible": board.eligible,
        "gap": board.gap,
        "referred": board.referred_clients,
        "referrals": board.referrals_total,
        "successful": board.successful,
        "completed": board.completed,
        "overdue_referrals": board.overdue_referrals,
        "overdue_complaints": board.overdue_complaints,
    }
    for kind, number in expected.items():
        rows = list(
            csv.reader(io.StringIO(supervisor.get(f"/reports/list/{kind}/export.csv").get_data(as_text=True)))
        )
        assert len(rows) - 1 == number, kind
