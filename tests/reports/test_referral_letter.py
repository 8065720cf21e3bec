"""The referral letter: a PDF the person takes home, with what they need to reach the agency."""

from __future__ import annotations

import io
import unicodedata
from datetime import date

from pypdf import PdfReader
from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import Programme
from srs.programmes.screening import screen
from srs.programmes.seed import seed_catalogue, seed_rates
from tests.factories import make_client, refer, user


def _text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    # Lines wrap differently on each page size: compare the words, not the line breaks.
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def vn_referral(app) -> int:
    with app.test_request_context():
        seed_catalogue("x")
        seed_rates("x")
        person = make_client(
            "00070",
            full_name="Nguyễn Thị Lan",
            date_of_birth=date(1990, 3, 1),
            work_status="informal",
            monthly_income=1_500_000,
            poverty_status="near_poor",
            enrolments=[],
        )
        screen(person, user("officer.vn1"))
        programme = db.session.scalar(select(Programme).where(Programme.code == "VN-BHXH-TN"))
        referral = refer(person, programme, by="officer.vn1")
        commit()
        return referral.id


def test_the_letter_carries_what_the_person_needs(app, login_as):
    referral_id = vn_referral(app)
    officer = login_as("officer_vn")
    response = officer.get(f"/reports/letters/referral-{referral_id}.pdf?lang=en")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _text(response.data)
    assert "Referral letter" in text and "Nguyễn Thị Lan" in text
    assert f"Tracking number: #{referral_id}" in text
    assert "You are referred to Voluntary social insurance" in text
    assert "Bảo hiểm xã hội Việt Nam" in text  # the agency
    assert "Personal ID (CCCD)" in text  # what to bring
    assert "A decision is due by" in text
    assert "22% of 1,500,000 = 330,000 a month." in text and "You pay 148,500 a month." in text
    assert "Phường Hoàn Kiếm" in text  # the officer's office
    with app.test_request_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "referral.letter")) is not None


def test_phone_size_and_the_person_language(app, login_as):
    referral_id = vn_referral(app)
    officer = login_as("officer_vn")
    a4 = officer.get(f"/reports/letters/referral-{referral_id}.pdf?lang=en")
    phone = officer.get(f"/reports/letters/referral-{referral_id}.pdf?size=phone&lang=en")
    assert phone.status_code == 200
    width = float(PdfReader(io.BytesIO(phone.data)).pages[0].mediabox.width)
    assert width < float(PdfReader(io.BytesIO(a4.data)).pages[0].mediabox.width) / 2
    assert "22% of 1,500,000 = 330,000 a month." in _text(phone.data)
    # Without ?lang the letter is in the language of the person's country: Vietnamese digit grouping.
    assert "1.500.000" in _text(officer.get(f"/reports/letters/referral-{referral_id}.pdf").data)
    assert officer.get(f"/reports/letters/referral-{referral_id}.pdf?size=huge").status_code == 400


def test_the_letter_is_for_people_who_may_see_the_referral(app, login_as):
    referral_id = vn_referral(app)
    assert login_as("officer").get(f"/reports/letters/referral-{referral_id}.pdf").status_code == 404
    assert login_as("agency_vn").get(f"/reports/letters/referral-{referral_id}.pdf").status_code == 403
    page = login_as("officer_vn").get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert 'data-testid="referral-letter"' in page
