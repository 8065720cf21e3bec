"""Registry changes are written as DCI changes in the same transaction, whatever path made them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from srs.core import clock
from srs.core.models import AuditEntry
from srs.dci import jobs
from srs.dci.models import DciChange, DciOutbox, DciPartner
from srs.extensions import db
from srs.registry.models import Client, Household, HouseholdMember
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


def test_joining_and_leaving_a_household_are_link_and_unlink(app, demo):
    with app.app_context():
        head, spouse = _client("Kepala"), _client("Istri")
        household = Household(region_id=head.region_id, address="Jl. Desa 1")
        db.session.add(household)
        db.session.commit()
        db.session.query(DciChange).delete()
        db.session.commit()

        member = HouseholdMember(household_id=household.id, client_id=spouse.id, full_name=spouse.full_name)
        db.session.add(member)
        head.household_id = household.id
        db.session.commit()
        assert sorted(_changes()) == sorted([(spouse.id, "LINK"), (head.id, "LINK")])

        db.session.query(DciChange).delete()
        head.household_id = None
        head.phone = "+6281234500000"  # a change of the person besides the link: UPDATE as well
        db.session.delete(member)
        db.session.commit()
        assert sorted(_changes()) == sorted([(head.id, "UNLINK"), (head.id, "UPDATE"), (spouse.id, "UNLINK")])


def test_old_dispatched_changes_are_pruned_but_pending_ones_stay(app, partner):
    with app.app_context():
        partner_id = db.session.scalar(select(DciPartner.id).where(DciPartner.sender_id == "spmis.test"))
        old, fresh, waiting = _client("Lama"), _client("Baru"), _client("Menunggu")
        db.session.commit()
        changes = {c.client_id: c for c in db.session.scalars(select(DciChange))}
        long_ago = clock.now() - timedelta(days=45)
        changes[old.id].dispatched_at = long_ago
        changes[fresh.id].dispatched_at = clock.now() - timedelta(days=2)
        changes[waiting.id].dispatched_at = long_ago
        sent, retrying = (
            DciOutbox(
                partner_id=partner_id,
                action="notify",
                url="http://127.0.0.1/",
                message_id=f"msg-{status}",
                status=status,
                change_id=changes[owner.id].id,
            )
            for owner, status in ((old, "done"), (waiting, "pending"))
        )
        db.session.add_all([sent, retrying])
        db.session.commit()
        sent_id, fresh_id, waiting_id = sent.id, fresh.id, waiting.id

        assert jobs.prune_changes() == 1
        assert sorted(c for c, _ in _changes()) == sorted([fresh_id, waiting_id])
        kept = db.session.get(DciOutbox, sent_id)
        assert kept is not None and kept.change_id is None  # the delivery record outlives its change
        assert jobs.prune_changes() == 0
