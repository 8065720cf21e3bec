"""Upgrading an empty database with the migrations gives exactly the models' schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from srs import create_app
from srs.extensions import db
from tests.conftest import make_config


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    server_url = os.environ.get("SRS_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"srs_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_from_empty_matches_models(tmp_path, empty_database_url, redis_url):
    from flask_migrate import upgrade

    config = make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url)
    app = create_app(config)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], f"the migrations and the models disagree: {diff}"


def test_migrations_never_import_the_app():
    """A migration is frozen history: what it runs is in the file, so changing srs cannot change it."""
    import ast
    from pathlib import Path

    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    found = []
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n == "srs" or n.startswith("srs.")]
    assert found == []


def test_downgrade_and_upgrade_again_rebuilds_the_report_facts_from_the_records(
    tmp_path, empty_database_url, redis_url
):
    """With demo data in the database, going back to 0007 (before the facts) or to 0011 (before the
    monthly summaries) and up again gives the facts and summaries the app kept while seeding."""
    from flask_migrate import downgrade, upgrade

    from srs.core.transaction import commit
    from srs.seed import seed_demo

    tables = (
        "report_screening_facts",
        "report_referral_facts",
        "report_referral_months",
        "report_referral_month_decisions",
        "report_referral_month_firsts",
    )

    def snapshot() -> dict[str, list[tuple]]:
        rows = {}
        with db.engine.connect() as conn:
            for table in tables:
                found = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()  # noqa: S608
                # The summaries kept up by the app may hold rows counted down to zero; a rebuild has none.
                rows[table] = sorted(tuple(map(str, r.values())) for r in found if r.get("referrals") != 0)
        return rows

    config = make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url)
    app = create_app(config)
    with app.app_context():
        upgrade()
        seed_demo("demo-password")
        commit()
        kept = snapshot()
        assert all(kept[table] for table in tables)
        for revision in ("0011_member_once", "0007_cases"):
            downgrade(revision=revision)
            upgrade()
            assert snapshot() == kept, revision
        db.session.remove()
        db.engine.dispose()


def test_0013_chains_the_entries_already_in_the_log(tmp_path, empty_database_url, redis_url):
    """Entries written before the chain existed get their hashes in id order; the live verifier agrees."""
    from datetime import UTC, datetime

    from flask_migrate import upgrade

    from srs.core.audit_chain import verify

    config = make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url)
    app = create_app(config)
    with app.app_context():
        from alembic.script import ScriptDirectory

        scripts = ScriptDirectory(str(Path(__file__).resolve().parent.parent / "migrations"))
        upgrade(revision=scripts.get_revision("0013_audit_chain").down_revision)  # just before the chain
        old = [
            {"at": datetime(2026, 1, 5, 8, 30, 15, 123456, tzinfo=UTC), "action": "login", "details": "{}"},
            {
                "at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
                "action": "client.update",
                "username": "officer.id1",
                "object_type": "client",
                "object_id": "12",
                "ip_address": "10.0.0.7",
                "details": '{"changes": {"phone": {"from": "0812", "to": "0813"}}, "version": 2, "ok": true}',
            },
            {
                "at": datetime(2026, 1, 6, tzinfo=UTC),
                "action": "client.read",
                "details": '{"note": "Nguyễn"}',
            },
        ]
        with db.engine.begin() as conn:
            for row in old:
                values = {"username": None, "object_type": None, "object_id": None, "ip_address": None, **row}
                conn.execute(
                    text(
                        "INSERT INTO audit_entries (at, user_id, username, action, object_type, object_id,"
                        " ip_address, details) VALUES (:at, NULL, :username, :action, :object_type,"
                        " :object_id, :ip_address, :details)"
                    ),
                    values,
                )
        upgrade()
        with db.engine.connect() as conn:
            report = verify(conn)
            hashes = conn.execute(text("SELECT prev_hash, hash FROM audit_entries ORDER BY id")).all()
            places = conn.execute(text("SELECT chain_seq - id FROM audit_entries")).scalars().all()
            triggers = (
                conn.execute(
                    text("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_entries_append_only'")
                ).scalar()
                if conn.dialect.name == "postgresql"
                else None
            )
        db.engine.dispose()
    assert report.intact, report.problem
    assert report.entries == 3
    assert hashes[0][0] == "0" * 64 and hashes[1][0] == hashes[0][1] and hashes[2][0] == hashes[1][1]
    assert places == [0, 0, 0]  # 0035: the id-ordered chain's place is the id
    if triggers is not None:
        assert triggers == 1


def test_0035_keeps_the_chain_and_its_downgrade_chains_in_id_order_again(
    tmp_path, empty_database_url, redis_url
):
    """Up: the sealed entries keep their hashes, in id order. Down (0034): entries sealed out of id
    order and entries not sealed yet are chained again in id order, which 0013's verifier walks."""
    import json
    from datetime import datetime

    from flask_migrate import downgrade, upgrade

    from srs.core import audit_chain

    config = make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url)
    app = create_app(config)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:  # committed in the order 3, 1: sealed in that order
            for entry_id in (3, 1):
                conn.execute(
                    text(
                        "INSERT INTO audit_entries (id, at, action, details) VALUES (:id, :at, 'test', '{}')"
                    ),
                    {"id": entry_id, "at": "2026-01-05 08:30:00+00:00"},
                )
        assert audit_chain.seal_pending(db.engine) == 2
        with db.engine.begin() as conn:  # left unsealed (explicit ids: PostgreSQL's sequence is not moved)
            conn.execute(
                text(
                    "INSERT INTO audit_entries (id, at, action, details)"
                    " VALUES (4, :at, 'test.unsealed', '{}')"
                ),
                {"at": "2026-01-05 09:00:00+00:00"},
            )
        downgrade(revision="0034_coverage_local_day")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, prev_hash, hash FROM audit_entries ORDER BY id")).all()
            fields = conn.execute(
                text(
                    "SELECT at, user_id, username, action, object_type, object_id, ip_address, details "
                    "FROM audit_entries ORDER BY id"
                )
            ).all()
        prev = audit_chain.GENESIS
        for row, values in zip(rows, fields, strict=True):
            details = json.loads(values.details) if isinstance(values.details, str) else values.details
            at = datetime.fromisoformat(values.at) if isinstance(values.at, str) else values.at
            expected = audit_chain.entry_hash(prev, {**values._asdict(), "at": at, "details": details})
            assert (row.prev_hash, row.hash) == (prev, expected), row.id
            prev = row.hash
        upgrade()
        with db.engine.connect() as conn:
            report = audit_chain.verify(conn)
        db.engine.dispose()
    assert [r.id for r in rows] == [1, 3, 4]
    assert report.intact, report.problem
    assert report.entries == 3 and report.unsealed == 0


def test_0020_makes_a_record_of_each_consent_flag(tmp_path, empty_database_url, redis_url):
    """Migration 0020 turns each client's consent flag into a consent record."""
    from datetime import date

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    from srs.core.transaction import commit
    from srs.regions.models import Region
    from srs.regions.seed import seed_regions
    from srs.registry.models import Client, ConsentRecord

    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url))
    with app.app_context():
        upgrade()
        seed_regions()
        region = db.session.scalar(select(Region).where(Region.code == "35.16.08.2003"))
        for name, given in (("Ani", True), ("Budi", False), ("Citra", True)):
            db.session.add(
                Client(
                    full_name=name,
                    name_key=name.lower(),
                    sex="female",
                    date_of_birth=date(1980, 1, 1),
                    region_id=region.id,
                    consent_given=given,
                    consent_date=date(2026, 1, 2) if given else None,
                    consent_scope="Paper form" if given else None,
                )
            )
        commit()
        from alembic.script import ScriptDirectory

        scripts = ScriptDirectory(str(Path(__file__).resolve().parent.parent / "migrations"))
        downgrade(revision=scripts.get_revision("0020_consent").down_revision)  # just before 0020
        with db.engine.connect() as conn:
            assert "consent_records" not in {
                row[0]
                for row in conn.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                        if db.engine.dialect.name == "sqlite"
                        else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    )
                )
            }
        upgrade()
        db.session.remove()
        records = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.client_id)).all()
        names = {c.id: c.full_name for c in db.session.scalars(select(Client))}
        assert [names[r.client_id] for r in records] == ["Ani", "Citra"]
        assert {(r.scope, r.given_on, r.source, r.all_agencies) for r in records} == {
            ("Paper form", date(2026, 1, 2), "migration", True)
        }
        assert all(r.purposes == ["screening", "referral"] and r.agencies == [] for r in records)
        db.session.remove()
        db.engine.dispose()
