"""The monthly summary per district as a PDF: parsed back and checked against the printable page."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date

from flask_babel import force_locale, gettext
from pypdf import PdfReader
from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.reports import pdf, services
from tests.reports.data import build_world

_ROW = re.compile(r'<tr><th scope="row">([^<]+)</th>((?:<td>[^<]*</td>)+)</tr>')
_CELL = re.compile(r"<td>([^<]*)</td>")


def _text(data: bytes) -> str:
    """All the PDF's text, NFC-normalised, one string per page joined by form feeds."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\f".join(unicodedata.normalize("NFC", page.extract_text()) for page in reader.pages)


def _page_rows(html: str) -> list[tuple[str, ...]]:
    """The district rows and then the total row of the printable page, as shown there."""
    import html as html_lib

    return [
        tuple(html_lib.unescape(cell) for cell in (name, *_CELL.findall(cells)))
        for name, cells in _ROW.findall(html)
    ]


def _pdf(client, query: str = "") -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(f"/reports/monthly.pdf{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert "attachment; filename=srs-monthly-" in response.headers["Content-Disposition"]
    return response.data


def test_pdf_shows_the_districts_and_figures_of_the_printable_page(app, login_as):
    build_world(app)
    month = clock.today().strftime("%Y-%m")
    supervisor = login_as("supervisor")
    html = supervisor.get(f"/reports/monthly?month={month}").get_data(as_text=True)
    rows = _page_rows(html)
    # The district rows, then the total row of the table's foot.
    assert [r[0] for r in rows] == ["Kabupaten Mojokerto (35.16)", "Kota Mojokerto (35.76)", "Total"]
    assert rows[-1][1] == "3"  # Ani, Bambang and Citra registered this month

    lines = _text(_pdf(supervisor, f"?month={month}")).splitlines()
    for name, *figures in rows:
        assert " ".join([name, *figures]) in lines, (name, figures, lines)
    text = "\n".join(lines)
    title_month = clock.today().strftime("%B %Y")
    assert f"Monthly summary per district: {title_month}" in text
    assert "All my regions: Jawa Timur (35)" in text
    assert "by Dewi Lestari" in text and "Generated " in text
    for heading in ("District", "Successful", "Total"):
        assert heading in text
    assert "Page 1 of " in text  # the coverage section follows the table


def test_pdf_uses_the_same_filters_as_the_page(app, login_as):
    build_world(app)
    month = clock.today().strftime("%Y-%m")
    supervisor = login_as("supervisor")
    query = f"?month={month}&region=35.76&sex=female"
    rows = _page_rows(supervisor.get(f"/reports/monthly{query}").get_data(as_text=True))
    text = _text(_pdf(supervisor, query))
    assert "Region: Kota Mojokerto (35.76)" in text and "Sex: Female" in text
    assert "Kabupaten Mojokerto" not in text
    for name, *figures in rows:
        assert " ".join([name, *figures]) in text.splitlines()


def test_pdf_never_shows_another_regions_district(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    text = _text(_pdf(supervisor))
    assert "Yogyakarta" not in text and "34.71" not in text and "Hà Nội" not in text
    response = supervisor.get("/reports/monthly.pdf?region=34.71")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "34.71 is not one of your regions." in body and "Dian Yogya" not in body


def test_bad_input_gets_the_pages_message_not_a_pdf(app, login_as):
    supervisor = login_as("supervisor")
    for query, message in (
        ("?month=2026-13", "2026-13 is not a month (use YYYY-MM)."),
        ("?month=garbage", "garbage is not a month (use YYYY-MM)."),
        ("?month=2026-05&sex=other", "Choose female or male."),
    ):
        page = supervisor.get(f"/reports/monthly{query}")
        response = supervisor.get(f"/reports/monthly.pdf{query}")
        assert response.status_code == page.status_code == 422, query
        assert message in response.get_data(as_text=True) and message in page.get_data(as_text=True)
        assert not response.data.startswith(b"%PDF")


def test_vietnamese_names_render_in_the_pdf(app, login_as):
    build_world(app)
    text = _text(_pdf(login_as("admin"), "?region=01"))
    assert "Region: Thành phố Hà Nội (01)" in text
    # Registered, referred, successful, overdue, and overdue per measure (two).
    assert "Xã Sóc Sơn (00376) 0 0 0 0 0 0" in text.splitlines()
    assert "Phường Hoàn Kiếm (00070)" in text


def test_a_month_without_data_still_gives_headers_and_zero_totals(app, login_as):
    build_world(app)
    text = _text(_pdf(login_as("supervisor"), "?month=2001-01"))
    assert "Monthly summary per district: January 2001" in text
    assert "District" in text and "Total 0 0 0" in text
    assert "Kabupaten Mojokerto (35.16) 0 0 0" in text


def test_an_empty_selection_is_a_valid_pdf_with_headers(app):
    with app.test_request_context():
        filters = services.Filters(date_from=date(2026, 5, 1), date_to=date(2026, 5, 31))
        totals = dict.fromkeys(services.DISTRICT_FIGURES, 0)
        document = pdf.monthly_document(filters, date(2026, 5, 1), [], totals, user=None)
        data = pdf.render(document)
    text = _text(data)
    assert "Monthly summary per district: May 2026" in text
    assert "Clients" in text and "Overdue" in text and "Total 0 0 0 0" in text
    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_a_long_table_runs_over_pages_with_numbers_and_headings(app):
    document = pdf.MonthlyDocument(
        title="Monthly summary per district: May 2026",
        scope="All my regions",
        generated="Generated now by someone",
        headers=["District", "Registered", "Referrals", "Successful", "Overdue"],
        rows=[[f"District {i:03d}", str(i), "1", "0", "0"] for i in range(120)],
        total=["Total", "7140", "120", "0", "0"],
    )
    pages = _text(pdf.render(document)).split("\f")
    assert len(pages) > 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Registered" in page and "Overdue" in page  # the headings repeat on each page
    assert "District 119 119 1 0 0" in pages[-1] and "Total 7140 120 0 0" in pages[-1]


def test_an_indonesian_users_pdf_has_indonesian_labels(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    supervisor.post("/language", data={"lang": "id", "next": "/"})
    data = _pdf(supervisor, "?month=2026-05")
    text = _text(data)
    pages = len(PdfReader(io.BytesIO(data)).pages)  # the coverage section follows the table
    with app.test_request_context(), force_locale("id"):
        expected = [
            gettext("Monthly summary per district"),
            gettext("District"),
            gettext("Referrals made"),
            gettext("Total"),
            gettext("Page %(page)s of %(pages)s", page=1, pages=pages),
            gettext("All my regions"),
        ]
    assert expected[0] != "Monthly summary per district"
    flat = " ".join(text.split())  # headings wrap inside their cells
    for label in expected:
        assert label in flat, label
    assert "Mei 2026" in text  # the month is named in Indonesian too
    assert "Monthly summary" not in text and "Page 1 of" not in text


def test_each_pdf_download_is_audited(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    _pdf(supervisor, "?month=2026-05&region=35.16")
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.username, entry.object_type, entry.object_id) == ("supervisor.id", "report", "monthly")
    assert entry.details["format"] == "pdf" and entry.details["month"] == "2026-05"
    assert entry.details["region"] == "35.16"
    # A refused request (out-of-scope region) exports nothing and writes no export entry.
    supervisor.get("/reports/monthly.pdf?region=34.71")
    with app.app_context():
        count = len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).all())
    assert count == 1


def test_the_page_and_the_dashboard_link_to_the_pdf(app, login_as):
    build_world(app)
    supervisor = login_as("supervisor")
    page = supervisor.get("/reports/monthly?month=2026-05&region=35.16").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" data-testid="monthly-pdf"', page)
    assert link is not None and link.group(1).startswith("/reports/monthly.pdf?")
    assert "month=2026-05" in link.group(1) and "region=35.16" in link.group(1)
    assert _pdf(supervisor, link.group(1).replace("&amp;", "&")[len("/reports/monthly.pdf") :])
    dashboard = supervisor.get("/reports/").get_data(as_text=True)
    assert 'data-testid="monthly-pdf"' in dashboard and "/reports/monthly.pdf?" in dashboard


def test_officers_cannot_download_the_pdf(app, login_as):
    assert login_as("officer").get("/reports/monthly.pdf").status_code == 403
    assert login_as("agency_staff").get("/reports/monthly.pdf").status_code == 403


def test_the_pdf_has_the_coverage_section_with_its_series_kept_apart(app, login_as, api_token):
    """Covered among registered by function, as the API summary counts it; the SDG series of registered
    people with numerator, denominator, source and year; the population basis under its own heading."""
    from srs.core.transaction import commit
    from srs.programmes.enrolments import record_enrolment
    from srs.programmes.models import Programme
    from srs.registry.models import Client

    build_world(app)
    with app.test_request_context():
        ani = db.session.scalar(select(Client).where(Client.full_name == "Ani Lestari"))
        programme = db.session.scalar(select(Programme).where(Programme.code == "ID-BPJSTK-BPU"))
        record_enrolment(ani, programme, clock.today())
        commit()
    month = clock.today().strftime("%Y-%m")
    summary = (
        app.test_client()
        .get("/api/v1/reports/summary", headers=api_token("supervisor"))
        .get_json()["coverage"]
    )
    text = _text(_pdf(login_as("supervisor"), f"?month={month}"))
    flat = " ".join(text.split())
    assert "Coverage among registered people on" in flat
    first = f"At least one programme {summary['registered']} {summary['covered']}"
    assert first in flat, flat[:3000]
    for function, pair in summary["by_function"].items():
        if pair["covered"]:
            assert f"{pair['registered']} {pair['covered']}" in flat, function
    registered_at = flat.index("SDG 1.3.1 series, of registered people")
    population_at = flat.index("SDG 1.3.1 series, of the population")
    assert registered_at < population_at
    registered_part = flat[registered_at:population_at]
    assert "SI_COV_BENFTS" in registered_part and "Numerator" in registered_part
    assert "Denominator" in registered_part and "Source: SRS register; year" in registered_part
    # No population figures imported: that basis says it cannot be computed, and gives no series.
    population_part = flat[population_at:]
    assert "Not computable" in population_part and "SI_COV_" not in population_part


def test_with_population_figures_the_pdf_gives_the_population_series_apart(app, login_as):
    from tests.reports.test_population import YEAR, _upload, good_csv

    build_world(app)
    assert _upload(login_as("admin"), good_csv()).status_code in (200, 302)
    month = clock.today().strftime("%Y-%m")
    flat = " ".join(_text(_pdf(login_as("supervisor"), f"?month={month}")).split())
    population_part = flat[flat.index("SDG 1.3.1 series, of the population") :]
    assert "SI_COV_BENFTS" in population_part and "Not computable" not in population_part
    # 2 districts x 2 sexes x (300 + 600 + 100) = 4,000 people; the source and year of the figures.
    assert "Denominator 4,000" in population_part
    assert f"Source: BPS Susenas {YEAR}; year {YEAR}" in population_part
    registered_part = flat[
        flat.index("SDG 1.3.1 series, of registered people") : flat.index(population_part[:40])
    ]
    assert "BPS Susenas" not in registered_part  # never the population's figures among the registered
