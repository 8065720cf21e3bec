"""Ethnic minority: a client field of its own (special-category data), set through the field table, read
by the Viet Nam voluntary social insurance estimate (30%, Decree 159/2025) and by the rules, masked in
the audit log, shared with an agency only when its programme lists it; migration 0029 moves old values
out of ``extra``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from srs import create_app
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.programmes.fields import FIELDS
from srs.registry.fields import get_field, import_columns, shared_field_choices
from srs.registry.models import Client
from tests.conftest import make_config
from tests.registry.conftest import payload, vn_payload
from tests.test_migrations import empty_database_url  # noqa: F401  (the fixture)


def test_the_field_is_in_the_table_and_every_reader_of_it(client: Any, api_token: Any) -> None:
    field = get_field("ethnic_minority")
    assert field.type == "boolean" and field.personal and field.stored_as == "ethnic_minority"
    assert "ethnic_minority" in import_columns() and "ethnic_minority" in shared_field_choices()
    assert "ethnic_minority" in FIELDS  # a rule may name it
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert any("ethnic_minority" in (s.get("properties") or {}) for s in schemas.values())
    described = client.get("/api/v1/fields/clients", headers=api_token("officer")).get_json()
    item = next(i for i in described["items"] if i["name"] == "ethnic_minority")
    assert item["personal"] is True and item["shareable"] is True


def test_set_by_the_api_masked_in_the_audit_and_read_by_the_estimate(
    app: Any, client: Any, api_token: Any
) -> None:
    headers = api_token("officer_vn")
    response = client.post("/api/v1/clients", json=vn_payload(ethnic_minority=True), headers=headers)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["ethnic_minority"] is True
    changed = client.patch(
        f"/api/v1/clients/{data['id']}",
        json={"ethnic_minority": False, "version": data["version"]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["ethnic_minority"] is False
    with app.test_request_context():
        entries = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_type == "client", AuditEntry.object_id == str(data["id"])
            )
        ).all()
        written = " ".join(str(e.details) for e in entries)
        assert "ethnic_minority" in written  # the change is on record ...
        assert (
            "'ethnic_minority': False" not in written and "'ethnic_minority': True" not in written
        )  # ... masked
    bad = client.post("/api/v1/clients", json=payload(ethnic_minority="maybe"), headers=api_token("officer"))
    assert bad.status_code == 422 and "ethnic_minority" in bad.get_json()["errors"]


def test_0029_moves_the_values_out_of_extra(tmp_path: Any, empty_database_url: str, redis_url: str) -> None:  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from srs.core.transaction import commit
    from srs.seed import seed_demo

    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url))
    with app.app_context():
        upgrade()
        seed_demo("demo-password")
        commit()
        ids = list(db.session.scalars(select(Client.id).order_by(Client.id).limit(4)))
        db.session.remove()
        downgrade(revision="0028_letter_referral_estimate")
        values = [
            '{"ethnic_minority": true, "note": "x"}',
            '{"ethnic_minority": "no"}',
            '{"ethnic_minority": "?"}',
        ]
        with db.engine.begin() as conn:
            for client_id, extra in zip(ids, values, strict=False):
                conn.execute(
                    text("UPDATE clients SET extra = :e WHERE id = :i"), {"e": extra, "i": client_id}
                )
        upgrade()
        with db.engine.connect() as conn:
            rows = {
                i: (m, e)
                for i, m, e in conn.execute(text("SELECT id, ethnic_minority, extra FROM clients"))
                if i in ids
            }
        assert rows[ids[0]][0] is True or rows[ids[0]][0] == 1
        assert rows[ids[1]][0] is False or rows[ids[1]][0] == 0
        assert rows[ids[2]][0] is None and rows[ids[3]][0] is None
        for _value, extra in rows.values():
            assert "ethnic_minority" not in str(extra)
        assert "note" in str(rows[ids[0]][1])
        db.session.remove()
        db.engine.dispose()
