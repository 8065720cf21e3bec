"""Registry changes are written as DCI changes in the same transaction, whatever path made them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.dci.models import DciChange
from srs.extensions import db
from srs.registry.models import Client
from tests.dci.conftest import region


def _changes() -> list[tuple[int, str]]:
    return [(c.client_id, c.event) for c in db.session.scalars(select(DciChange).order_by(DciChange.id))]


def _client(name: str) -> Client:
    client = Client(
        full_name=name,
        name_key=name.lower(),
        sex="male",
        date_of_birth=date(1980, 1, 1),
        region_id=region("35.16.08.2003").id,
        consent_given=True,
    )
    db.session.add(client)
    db.session.flush()
    return client


def test_register_update_merge_and_withdrawal(app, demo):
    with app.app_context():
        keep, duplicate = _client("Agus"), _client("Agus S")
        db.session.commit()
        assert _changes() == [(keep.id, "REGISTER"), (duplicate.id, "REGISTER")]
        keep.phone = "+6281234567890"
        db.session.flush()
        keep.address = "Jl. Baru 2"
        db.session.commit()  # two flushes, one transaction: one UPDATE
        duplicate.merged_into_id = keep.id
        db.session.commit()
        keep.consent_given = False
        db.session.commit()
        assert _changes()[2:] == [(keep.id, "UPDATE"), (duplicate.id, "DELETE"), (keep.id, "DELETE")]


def test_a_rolled_back_change_leaves_no_event(app, demo):
    with app.app_context():
        _client("Rolled Back")
        db.session.rollback()
        assert _changes() == []


def test_a_bulk_import_is_read_from_its_audit_entry(app, demo):
    with app.app_context():
        first, second = _client("Satu"), _client("Dua")
        db.session.commit()
        db.session.query(DciChange).delete()
        db.session.add(
            AuditEntry(
                action="clients.import",
                object_type="client_import",
                object_id="1",
                details={"client_ids": [first.id, second.id]},
            )
        )
        db.session.commit()
        assert _changes() == [(first.id, "REGISTER"), (second.id, "REGISTER")]
