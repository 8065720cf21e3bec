"""Migration 0020 turns each client's consent flag into a consent record (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from srs import create_app
from srs.core.transaction import commit
from srs.extensions import db
from srs.regions.models import Region
from srs.registry.models import Client, ConsentRecord
from tests.conftest import make_config
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture


def test_0020_makes_a_record_of_each_consent_flag(tmp_path, empty_database_url, redis_url):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from srs.regions.seed import seed_regions

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
        downgrade(revision="0013_audit_chain")
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
