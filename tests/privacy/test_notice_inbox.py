"""Correction and erasure notices reach the agency's SRS inbox: a "Notices" list with the date, the
kind, the referral's tracking number and what changed or what to erase; opened, a notice is read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.extensions import db
from srs.referrals import jobs
from srs.referrals.models import OutboxMessage, Referral
from tests.privacy.conftest import new_client
from tests.privacy.test_correction import _correction, _delivered


def _deliver_notices(app: Any) -> list[int]:
    with app.test_request_context():
        ids = list(
            db.session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.event.is_not(None), OutboxMessage.channel == "inbox"
                )
            )
        )
        for message_id in ids:
            jobs.deliver(message_id)
        db.session.commit()
        return ids


def _correct_phone(client: Any, api_token: Any, client_id: int) -> None:
    headers = api_token("officer")
    request_id = _correction(client, headers, client_id)
    version = client.get(f"/api/v1/clients/{client_id}", headers=headers).get_json()["version"]
    response = client.patch(
        f"/api/v1/clients/{client_id}",
        json={"version": version, "phone": "081299998888", "request_id": request_id},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()


def test_agency_staff_see_correction_and_erasure_notices_and_open_them(
    app, client, periods, api_token, login_as
):
    client_id = new_client(app, full_name="Sri Notice")
    referral_id = _delivered(app, client_id, "ID-BPJSTK-BPU", "BPJSTK", ["full_name", "phone"])
    _correct_phone(client, api_token, client_id)
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        referral.status, referral.outcome = "completed", "successful"
        db.session.commit()
    erased = client.post(f"/api/v1/clients/{client_id}/erase", json={}, headers=api_token("supervisor"))
    assert erased.status_code == 200, erased.get_json()
    corrected_id, erasure_id = sorted(_deliver_notices(app))

    staff = login_as("agency_staff")
    inbox = staff.get("/referrals/inbox").get_data(as_text=True)
    assert 'data-testid="inbox-notices"' in inbox and "<strong>2</strong> unread notices" in inbox
    page = staff.get("/referrals/notices").get_data(as_text=True)
    assert "2 unread" in page
    assert f'data-testid="notice-{corrected_id}"' in page and f'data-testid="notice-{erasure_id}"' in page
    assert "Correction" in page and "Erasure requested" in page and f"#{referral_id}" in page
    assert "Fields corrected: Phone" in page
    # No more than the notices carry: the list names no one.
    assert "Sri Notice" not in page

    opened = staff.get(f"/referrals/notices/{corrected_id}")
    assert opened.status_code == 200
    html = opened.get_data(as_text=True)
    assert "+6281299998888" in html and 'data-testid="notice-fields"' in html and "Sri Notice" not in html
    erase_page = staff.get(f"/referrals/notices/{erasure_id}").get_data(as_text=True)
    assert 'data-testid="notice-erase"' in erase_page and f"#{referral_id}" in erase_page
    assert "0 unread" in staff.get("/referrals/notices").get_data(as_text=True)
    with app.app_context():
        read = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_([corrected_id, erasure_id]))
        )
        assert all(m.read_at is not None for m in read)
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "referral.notice_read"))
        assert {e.details["notice_id"] for e in entries} == {corrected_id, erasure_id}


def test_notices_are_the_agencys_own_and_in_each_language(app, client, periods, api_token, login_as):
    client_id = new_client(app)
    _delivered(app, client_id, "ID-BPJSTK-BPU", "BPJSTK", ["full_name", "phone"])
    _correct_phone(client, api_token, client_id)
    [notice_id] = _deliver_notices(app)
    # Staff of another agency, an officer: not theirs (404 / 403); a bad id is a 404, never a 500.
    other = login_as("agency_vn")
    assert other.get(f"/referrals/notices/{notice_id}").status_code == 404
    assert f"notice-{notice_id}" not in other.get("/referrals/notices").get_data(as_text=True)
    assert login_as("officer").get("/referrals/notices").status_code == 403
    staff = login_as("agency_staff")
    for bad in ("abc", "0", "99999999999999999999"):
        assert staff.get(f"/referrals/notices/{bad}").status_code == 404
    with app.app_context():
        assert db.session.get(OutboxMessage, notice_id).read_at is None
    # The page in the user's language (the new phrases' translations are in docs/i18n-rights.txt,
    # folded into the catalogues by the lead; the page's other words are already translated).
    for lang, words in (
        ("id", ("Kotak masuk rujukan", "Tanggal")),
        ("vi", ("Hộp thư chuyển gửi đến", "Ngày")),
    ):
        staff.post("/language", data={"lang": lang, "next": "/"})
        page = staff.get("/referrals/notices").get_data(as_text=True)
        assert all(word in page for word in words), lang
