"""Migration 0025 turns the clients' lists of codes and the successful referrals into enrolments, and
builds the coverage facts as the app keeps them."""

from __future__ import annotations

import time_machine
from sqlalchemy import text

from srs import create_app
from srs.extensions import db
from tests.conftest import make_config
from tests.test_migrations import empty_database_url  # noqa: F401  (the fixture)


def test_0025_makes_the_enrolments_and_facts_the_app_keeps(tmp_path, empty_database_url, redis_url):  # noqa: F811
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from srs.core.transaction import commit
    from srs.reports import coverage_facts
    from srs.seed import seed_demo
    from tests.test_migrations import Path

    def read(sql: str) -> list[tuple]:
        with db.engine.connect() as conn:
            return sorted(tuple(map(str, row)) for row in conn.execute(text(sql)))

    enrolled = (
        "SELECT e.client_id, e.programme_id FROM enrolments e JOIN clients c ON c.id = e.client_id "
        "WHERE c.merged_into_id IS NULL AND e.end_on IS NULL"
    )
    covered = "SELECT DISTINCT client_id, function FROM report_coverage_facts"
    app = create_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database_url))
    with app.app_context():
        upgrade()
        # 02:30 in Jakarta, still the day before in UTC: a registration's local and UTC days differ
        # (the app counts the local day on PostgreSQL; migration 0025 once took the UTC day).
        with time_machine.travel("2026-06-01T19:30:00Z", tick=True):
            seed_demo("demo-password")
            commit()
        kept_enrolled, kept_covered = read(enrolled), read(covered)
        assert kept_enrolled and len({f for _c, f in kept_covered}) > 3
        scripts = ScriptDirectory(str(Path(__file__).resolve().parent.parent.parent / "migrations"))
        downgrade(revision=scripts.get_revision("0025_coverage").down_revision)
        upgrade()
        assert read(enrolled) == kept_enrolled
        assert read(covered) == kept_covered
        facts = read("SELECT client_id, programme_id, function, start_on, end_on FROM report_coverage_facts")
        coverage_facts.rebuild_coverage()
        commit()
        assert (
            read("SELECT client_id, programme_id, function, start_on, end_on FROM report_coverage_facts")
            == facts
        )
        if db.engine.dialect.name == "postgresql":
            # A database that ran 0025 before its fix holds UTC days; 0034 puts the local days back.
            registrations = "SELECT client_id, start_on FROM report_coverage_facts WHERE programme_id = 0"
            kept = read(registrations)
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "UPDATE report_coverage_facts AS f "
                        "SET start_on = CAST(timezone('UTC', c.created_at) AS DATE) "
                        "FROM clients AS c WHERE c.id = f.client_id AND f.programme_id = 0"
                    )
                )
            assert read(registrations) != kept
            downgrade(revision="0033_scale_dci_region_index")
            upgrade()
            assert read(registrations) == kept
        db.session.remove()
        db.engine.dispose()
