"""Every text field answers an over-long value with its message (422), never a database error.

On PostgreSQL a value longer than its ``String(n)`` column is an error (a 500 before, with the value in
the log); SQLite stores it. Run this module on both (SRS_TEST_DATABASE_URL) to see the difference.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import String, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.cases import services as case_services
from srs.cases.complaints import ensure_categories
from srs.cases.models import Complaint, ComplaintCategory
from srs.core.errors import ValidationFailed
from srs.core.lengths import LONG_TEXT, ColumnLength, column_length, over_long_values
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Referral
from srs.regions.models import Region
from srs.registry.models import Client
from tests.factories import make_programme, refer, user
from tests.referrals.conftest import make_client

# ------------------------------------------------------------------ the helper and the guard


def test_lengths_come_from_the_columns():
    assert column_length(Client.full_name) == 200
    assert column_length(Complaint.complainant_phone) == 40
    assert ColumnLength(Agency.webhook_url).field_flags == {"maxlength": 500}
    with pytest.raises(TypeError):
        column_length(Client.date_of_birth)


# Written by SRS itself, never from input: the audit chain's sealer sets both hashes after the commit.
_COMPUTED = {("AuditEntry", "prev_hash"), ("AuditEntry", "hash")}


def _string_columns() -> list[tuple[type, str, int]]:
    out = []
    for mapper in db.Model.registry.mappers:
        for prop in mapper.column_attrs:
            column_type = prop.columns[0].type
            if isinstance(column_type, String) and column_type.length:
                out.append((mapper.class_, prop.key, column_type.length))
    return out


def test_the_guard_refuses_an_over_long_value_in_every_string_column_of_every_model(app_ctx):
    """Whatever path a value takes (a form, the API, an import, a job), the flush refuses it."""
    columns = _string_columns()
    assert len(columns) > 60
    missed = []
    for model, key, length in columns:
        if (model.__name__, key) in _COMPUTED:
            continue
        obj = model()
        setattr(obj, key, "x" * (length + 1))
        db.session.add(obj)
        try:
            db.session.flush()
        except ValidationFailed as exc:
            if key not in exc.errors or f"At most {length} characters" not in exc.errors[key][0]:
                missed.append(f"{model.__name__}.{key}: {exc.errors}")
        except (IntegrityError, DBAPIError) as exc:
            missed.append(f"{model.__name__}.{key}: reached the database ({type(exc).__name__})")
        else:
            missed.append(f"{model.__name__}.{key}: stored")
        finally:
            db.session.rollback()
    assert missed == []


def test_the_guard_passes_values_that_fit_and_checks_changes(app_ctx, demo):
    region = db.session.scalar(select(Region).where(Region.code == "35.16"))
    region.name = "x" * 120
    assert over_long_values(db.session) == {}
    region.name = "x" * 121
    assert over_long_values(db.session) == {"name": ["At most 120 characters (this has 121)."]}
    db.session.rollback()


def test_database_errors_carry_no_parameters(app_ctx, demo):
    """hide_parameters: an error that does reach the database shows its SQL, never the values."""
    assert db.engine.hide_parameters is True
    db.session.add(Agency(code="BPJSTK", name="Sri Wahyuni 081234567890", country="ID"))
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    db.session.rollback()
    assert "Sri Wahyuni" not in str(caught.value) and "081234567890" not in str(caught.value)


# ------------------------------------------------------------------ every form and API field


@pytest.fixture
def records(app: Flask, demo: dict[str, Any]) -> dict[str, int]:
    with app.test_request_context():
        client = make_client()
        programme = make_programme()
        pending = refer(make_client(full_name="Client pending"), programme)
        delivered = refer(make_client(full_name="Client delivered"), programme)
        from srs.referrals.services import mark_delivered

        mark_delivered(delivered)
        case = case_services.open_case(client, user("officer.id1"))
        closing = case_services.open_case(make_client(full_name="Client closing"), user("officer.id1"))
        case_services.request_closure(closing, "goals_achieved", None, user("officer.id1"))
        ensure_categories()
        category = db.session.scalar(select(ComplaintCategory.id).order_by(ComplaintCategory.id))
        complaint_region = db.session.scalar(select(Region.id).where(Region.code == "35.16"))
        ids = {
            "client": client.id,
            "programme": programme.id,
            "programme_code": programme.code,  # type: ignore[dict-item]
            "pending": pending.id,
            "delivered": delivered.id,
            "case": case.id,
            "closing": closing.id,
            "category": category,
            "region": complaint_region,
            "officer": user("officer.id1").id,
        }
        commit()
        ids["client_version"] = db.session.get(Client, client.id).version
    return ids


def _complaint(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": "phone",
        "category_id": r["category"],
        "subject": "No answer",
        "description": "Nobody called back",
        "region_id": r["region"],
    }


def _client_form() -> dict[str, Any]:
    return {
        "id_type": "none",
        "full_name": "Siti Rahayu",
        "sex": "female",
        "date_of_birth": "1990-02-03",
        "region_code": "35.16.08.2003",
        "consent_given": "y",
        "consent_date": "2026-01-05",
        "consent_scope": "Screening and referral",
        "poverty_status": "unknown",
    }


def _agency_form() -> dict[str, Any]:
    return {
        "code": "DINSOS",
        "name": "Dinas Sosial",
        "country": "ID",
        "channel": "inbox",
        "response_days": 10,
    }


def _user_form() -> dict[str, Any]:
    return {
        "username": "new.officer",
        "full_name": "New Officer",
        "role": "officer",
        "regions": ["35.16"],
        "password": "a long enough password",
        "active": "y",
    }


# (role, url, base form, field, limit). The url and base may need the records: callables take them.
HTML_FIELDS: list[tuple[str, Any, Any, str, int]] = [
    ("officer", "/complaints/new", _complaint, "complainant_name", 200),
    ("officer", "/complaints/new", _complaint, "complainant_phone", 40),
    ("officer", "/complaints/new", _complaint, "subject", 200),
    ("supervisor", "/complaints/new", _complaint, "description", LONG_TEXT),
    ("officer", lambda r: f"/cases/{r['case']}/notes", lambda r: {"body": "ok"}, "body", 5000),
    (
        "officer",
        lambda r: f"/cases/{r['case']}/tasks",
        lambda r: {"title": "t", "due_on": "2030-01-01", "assignee_id": r["officer"]},
        "title",
        200,
    ),
    (
        "officer",
        lambda r: f"/cases/{r['case']}/goals",
        lambda r: {"kind": "business", "description": "d"},
        "description",
        300,
    ),
    ("officer", lambda r: f"/cases/{r['case']}/hold", lambda r: {"reason": "r"}, "reason", 1000),
    (
        "officer",
        lambda r: f"/cases/{r['case']}/closure",
        lambda r: {"reason": "goals_achieved", "note": "n"},
        "note",
        LONG_TEXT,
    ),
    (
        "supervisor",
        lambda r: f"/cases/{r['closing']}/closure/decision",
        lambda r: {"decision": "send_back", "note": "n"},
        "note",
        1000,
    ),
    ("officer", "/clients/new", lambda r: _client_form(), "full_name", 200),
    ("officer", "/clients/new", lambda r: _client_form(), "address", 300),
    ("officer", "/clients/new", lambda r: _client_form(), "occupation", 120),
    ("officer", "/clients/new", lambda r: _client_form(), "phone", 40),
    ("officer", "/clients/new", lambda r: _client_form(), "welfare_source", 80),
    ("officer", "/clients/new", lambda r: _client_form(), "consent_scope", 300),
    ("admin", "/clients/new", lambda r: _client_form(), "full_name", 200),
    (
        "officer",
        lambda r: f"/clients/{r['client']}/members",
        lambda r: {"full_name": "Rina", "relationship_to_head": "child"},
        "full_name",
        200,
    ),
    (
        "officer",
        "/referrals/new",
        lambda r: {"client_id": r["client"], "programmes": [r["programme"]], "consent": "y", "note": "n"},
        "note",
        2000,
    ),
    ("officer", lambda r: f"/referrals/{r['pending']}/cancel", lambda r: {"reason": "r"}, "reason", 500),
    ("supervisor", lambda r: f"/referrals/{r['pending']}/cancel", lambda r: {"reason": "r"}, "reason", 500),
    ("agency_staff", lambda r: f"/referrals/{r['delivered']}/accept", lambda r: {"note": "n"}, "note", 2000),
    ("admin", "/admin/agencies/new", lambda r: _agency_form(), "name", 200),
    ("admin", "/admin/agencies/new", lambda r: _agency_form(), "contact_phone", 40),
    ("admin", "/admin/agencies/new", lambda r: _agency_form(), "webhook_url", 500),
    ("admin", "/admin/agencies/new", lambda r: _agency_form(), "webhook_secret", 200),
    ("admin", "/admin/users/new", lambda r: _user_form(), "username", 80),
    ("admin", "/admin/users/new", lambda r: _user_form(), "full_name", 200),
]


# Fields whose own message already names the limit (or the kind of value) keep it.
MESSAGES = {
    ("new", "phone"): "Must be a phone number",  # /clients/new
    ("members", "full_name"): "A name of 1 to 200 characters",
}


def _value(field: str, limit: int) -> str:
    if field in ("phone", "complainant_phone", "contact_phone"):
        return "0" * (limit + 1)
    if field == "webhook_url":
        return "https://agency.example.org/" + "a" * limit
    return "a" * (limit + 1)


def _ids(entry: tuple[str, Any, Any, str, int]) -> str:
    role, url, _base, field, _limit = entry
    placeholders = {"case": "N", "client": "N", "closing": "N", "pending": "N", "delivered": "N"}
    return f"{role}:{url if isinstance(url, str) else url(placeholders)}:{field}"


def _counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Client, Complaint, Agency, User, Referral)
    }


@pytest.mark.parametrize("entry", HTML_FIELDS, ids=[_ids(e) for e in HTML_FIELDS])
def test_every_form_text_field_refuses_an_over_long_value(app, login_as, records, entry):
    role, url, base, field, limit = entry
    url = url if isinstance(url, str) else url(records)
    data = {**base(records), field: _value(field, limit)}
    with app.app_context():
        before = _counts()
    response = login_as(role).post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:2000]
    assert MESSAGES.get((url.rstrip("/").split("/")[-1], field), f"At most {limit} characters") in html
    with app.app_context():
        assert _counts() == before  # nothing half-saved


def test_the_regions_import_refuses_an_over_long_name(app, login_as, records):
    csv = "code,name,level,parent_code,country\n35.16.99,{},district,35.16,ID\n".format("n" * 121)
    response = login_as("admin").post(
        "/admin/regions/import",
        data={"file": (io.BytesIO(csv.encode()), "regions.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "more than 120 characters" in response.get_data(as_text=True)


def _api_client_body() -> dict[str, Any]:
    return {
        "id_type": "none",
        "full_name": "Siti Rahayu",
        "sex": "female",
        "date_of_birth": "1990-02-03",
        "region_code": "35.16.08.2003",
        "consent": {"given": True, "date": "2026-01-05", "scope": "Screening and referral"},
    }


def _version(r: dict[str, Any]) -> dict[str, Any]:
    return {"version": r["client_version"]}


# (role, method, url, body, field, limit)
API_FIELDS: list[tuple[str, str, Any, Any, str, int]] = [
    *[
        ("officer", "post", "/api/v1/clients", lambda r: _api_client_body(), field, limit)
        for field, limit in (
            ("full_name", 200),
            ("address", 300),
            ("occupation", 120),
            ("phone", 40),
            ("welfare_source", 80),
        )
    ],
    ("officer", "patch", lambda r: f"/api/v1/clients/{r['client']}", _version, "occupation", 120),
    ("admin", "patch", lambda r: f"/api/v1/clients/{r['client']}", _version, "address", 300),
    (
        "officer",
        "post",
        "/api/v1/referrals",
        lambda r: {"client_id": r["client"], "programme_code": r["programme_code"], "note": "n"},
        "note",
        2000,
    ),
    (
        "supervisor",
        "post",
        "/api/v1/referrals",
        lambda r: {"client_id": r["client"], "programme_code": r["programme_code"]},
        "consent_override_reason",
        1000,
    ),
    ("officer", "post", lambda r: f"/api/v1/referrals/{r['pending']}/cancel", lambda r: {}, "reason", 500),
    (
        "agency_staff",
        "post",
        lambda r: f"/api/v1/referrals/{r['delivered']}/accept",
        lambda r: {},
        "note",
        2000,
    ),
]


@pytest.mark.parametrize(
    "entry", API_FIELDS, ids=[f"{e[0]}:{e[1]}:{e[4]}:{i}" for i, e in enumerate(API_FIELDS)]
)
def test_every_api_text_field_refuses_an_over_long_value(app, client, api_token, records, entry):
    role, method, url, body, field, limit = entry
    url = url if isinstance(url, str) else url(records)
    with app.app_context():
        before = _counts()
    response = getattr(client, method)(
        url, json={**body(records), field: _value(field, limit)}, headers=api_token(role)
    )
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"], response.get_json()
    with app.app_context():
        assert _counts() == before


def test_a_complaint_with_a_41_character_phone_is_refused_and_leaves_no_trace(app, login_as, records):
    """The attack of the issue: a 500 on PostgreSQL before, with the complainant's data in the log."""
    data = {**_complaint(records), "complainant_name": "Sri Wahyuni", "complainant_phone": "0" * 41}
    response = login_as("officer").post("/complaints/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "At most 40 characters (this has 41)." in html and 'value="Sri Wahyuni"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_an_unchecked_over_long_value_is_a_422_at_the_commit_too(app, login_as, records, monkeypatch):
    """A view whose change is only flushed by the commit at the edge still answers 422."""
    from srs.cases import views

    def sloppy(case_id: int):  # type: ignore[no-untyped-def]
        db.session.get(Region, records["region"]).name = "x" * 500
        return "ok"

    monkeypatch.setitem(app.view_functions, "cases.add_note", views.roles_required("officer")(sloppy))
    response = login_as("officer").post(f"/cases/{records['case']}/notes", data={"body": "x"})
    assert response.status_code == 422
    assert "At most 120 characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Region, records["region"]).name != "x" * 500
    assert login_as("officer").get("/").status_code == 200  # and the app goes on answering
