"""flask commands: seed-demo, create-admin, rebuild-report-facts, verify-audit, retention."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from srs.core.transaction import commit
from srs.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
    def seed_demo(if_empty: bool) -> None:
        """Create the demo regions, agencies, users and clients."""
        from srs.accounts.models import User
        from srs.seed import seed_demo as run_seed

        if current_app.config.get("PRODUCTION"):
            # The demo users all share one published password: never on a production database.
            raise click.ClickException(
                "seed-demo refuses to run with SRS_ENV=production: the demo accounts share a known "
                "password. Seed a training server instead (SRS_ENV unset or development)."
            )
        if if_empty and (db.session.scalar(select(func.count()).select_from(User)) or 0) > 0:
            click.echo("The database already has users; demo data not added.")
            return
        summary = run_seed(current_app.config["DEMO_PASSWORD"])
        commit()
        for line in summary:
            click.echo(line)

    @app.cli.command("rebuild-report-facts")
    def rebuild_report_facts() -> None:
        """Rebuild the dashboard's facts and monthly summaries from the records (after loading data
        with SQL, past the app, or after changing SRS_TIMEZONE: the summaries count its months)."""
        from srs.reports import coverage_facts, facts

        rows = facts.rebuild_all() + facts.rebuild_referrals()
        coverage_rows = coverage_facts.rebuild_coverage()
        commit()
        click.echo(f"{rows} report fact rows rebuilt.")
        click.echo(f"{coverage_rows} coverage fact rows rebuilt.")

    @app.cli.command("verify-audit")
    @click.option(
        "--no-seal",
        is_flag=True,
        help="Only verify: do not seal the entries waiting for the sealer first (they are counted).",
    )
    def verify_audit(no_seal: bool) -> None:
        """Seal the entries waiting for the sealer, walk the audit log's hash chain and report the
        first broken link (exit code 1) and the entries not sealed yet."""
        from sqlalchemy.exc import SQLAlchemyError

        from srs.core import clock
        from srs.core.audit_chain import UNSEALED_WARNING, seal_pending, verify

        if not no_seal:
            try:
                sealed = seal_pending(db.engine)
            except SQLAlchemyError as exc:  # e.g. the trigger refused: the walk below says why
                click.echo(f"could not seal the waiting entries: {exc.__class__.__name__}: {exc}", err=True)
            else:
                if sealed:
                    click.echo(f"sealed {sealed} waiting entries")
        with db.engine.connect() as conn:
            report = verify(conn)
        if not report.intact:
            click.echo(
                f"audit chain BROKEN after {report.entries} intact entries: {report.problem}", err=True
            )
            raise SystemExit(1)
        click.echo(f"audit chain intact: {report.entries} entries, last hash {report.last_hash}")
        if report.unsealed:
            oldest = report.oldest_unsealed_at.isoformat() if report.oldest_unsealed_at else "?"
            click.echo(
                f"{report.unsealed} entries not sealed yet (the chain does not cover them), oldest {oldest}"
            )
            if report.unsealed_too_long(clock.now()):
                minutes = int(UNSEALED_WARNING.total_seconds() // 60)
                click.echo(
                    f"WARNING: an entry has waited more than {minutes} minutes for the sealer (is the "
                    f"worker running?); until it is sealed, a change to it would not be detected",
                    err=True,
                )

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="Only say what would be anonymised or deleted.")
    def retention_command(dry_run: bool) -> None:
        """Apply the retention periods (SRS_RETENTION_*), or with --dry-run show what they would do.

        Audit entries are only counted, never deleted (the hash chain needs them whole)."""
        from srs.privacy import retention

        if dry_run:
            for line in retention.plan():
                click.echo(f"{line.kind.key}: {line.count} past {line.days} days -> {line.kind.action}")
            return
        done = retention.apply()
        commit()
        click.echo("retention applied: " + ", ".join(f"{k} {v}" for k, v in done.items()))

    @app.cli.command("create-admin")
    @click.option("--username", prompt=True)
    @click.option("--full-name", default="Administrator", show_default=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_admin(username: str, full_name: str, password: str) -> None:
        """Create the first administrator account."""
        from srs.accounts import services
        from srs.core.errors import ServiceError

        try:
            services.create_user(
                services.UserInput(
                    username=username,
                    full_name=full_name,
                    email=None,
                    role="admin",
                    region_codes=[],
                    agency_code=None,
                    password=password,
                )
            )
        except ServiceError as exc:
            db.session.rollback()
            messages = "; ".join(m for ms in exc.errors.values() for m in ms) or exc.detail
            raise click.ClickException(messages) from exc
        commit()
        click.echo(f"Administrator {username} created.")
