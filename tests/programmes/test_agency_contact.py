"""How the public reaches an agency: the admin form keeps it, the programme list gives it, the YAML
catalogue carries it, and the referral letter shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from srs.agencies.models import Agency
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes import services
from tests.programmes.test_catalogue_admin import agency_form
from tests.reports.test_referral_letter import _text, vn_referral

CONTACT = {
    "address": "Jl. Raya Jabon 1, Mojokerto",
    "public_phone": "0321 123456",
    "public_email": "layanan@dinsos.example.org",
    "opening_hours": "Senin-Jumat 08.00-15.00",
}


def test_the_admin_form_keeps_the_contact_and_refuses_a_bad_address(app: Any, login_as: Any) -> None:
    admin = login_as("admin")
    response = admin.post("/admin/agencies/new", data=agency_form(**CONTACT))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.test_request_context():
        agency = db.session.scalar(select(Agency).where(Agency.code == "DINSOS-MJK"))
        assert agency is not None
        assert {k: getattr(agency, k) for k in CONTACT} == CONTACT
        assert agency.public_contact()["email"] == CONTACT["public_email"]
        exported = services.export_yaml()
        assert CONTACT["address"] in exported and CONTACT["opening_hours"] in exported
    bad = admin.post(
        "/admin/agencies/new",
        data=agency_form(code="other", public_email="not-an-address"),
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "This is not an e-mail address." in page and "not-an-address" in page
    too_long = admin.post("/admin/agencies/new", data=agency_form(code="third", address="x" * 301))
    assert too_long.status_code == 422


def test_the_programme_list_and_the_letter_give_the_agency_contact(
    app: Any, login_as: Any, api_token: Any
) -> None:
    referral_id = vn_referral(app)
    with app.test_request_context():
        vss = db.session.scalar(select(Agency).where(Agency.code == "VSS"))
        assert vss is not None
        vss.address = "Số 7 Tràng Thi, Hoàn Kiếm, Hà Nội"
        vss.public_phone = "1900 9068"
        vss.public_email = "hotro@vss.example.vn"
        vss.opening_hours = "Thứ Hai-Thứ Sáu 08:00-17:00"
        commit()
    client = app.test_client()
    listed = client.get("/api/v1/programmes?country=VN", headers=api_token("officer_vn")).get_json()
    items = listed["items"] if isinstance(listed, dict) else listed
    vsi = next(p for p in items if p["code"] == "VN-BHXH-TN")
    assert vsi["agency"]["address"] == "Số 7 Tràng Thi, Hoàn Kiếm, Hà Nội"
    assert vsi["agency"]["phone"] == "1900 9068" and vsi["agency"]["opening_hours"].startswith("Thứ Hai")
    text = _text(login_as("officer_vn").get(f"/reports/letters/referral-{referral_id}.pdf?lang=en").data)
    assert "Address: Số 7 Tràng Thi, Hoàn Kiếm, Hà Nội" in text
    assert "Phone: 1900 9068" in text and "E-mail: hotro@vss.example.vn" in text
    assert "Opening hours: Thứ Hai-Thứ Sáu 08:00-17:00" in text
