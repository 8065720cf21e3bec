"""Retention: the dry run says what a run would do, a run does it and audits it, the chain stays whole."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from srs.accounts.models import ApiToken, LoginSession
from srs.cases.models import Case, CaseNote, Complaint, ComplaintCategory
from srs.core import audit, clock
from srs.core.audit_chain import verify
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.privacy import retention
from srs.registry.models import ImportBatch
from tests.conftest import csrf_token_from
from tests.factories import make_client, region, user

OLD = timedelta(days=4000)


def _old_and_new_records(app) -> None:
    """One record of each kind past its period and one within it."""
    now = clock.now()
    with app.test_request_context():
        officer = user("officer.id1")
        for age in (OLD, timedelta(days=1)):
            person = make_client()
            case = Case(
                client_id=person.id,
                region_id=person.region_id,
                status="closed",
                closed_at=now - age,
                closure_note="moved to Surabaya",
            )
            db.session.add(case)
            db.session.flush()
            db.session.add(CaseNote(case_id=case.id, body="home visit", author_id=officer.id))
            category = db.session.scalar(select(ComplaintCategory)) or ComplaintCategory(
                code="other", name="Other", working_days=14
            )
            db.session.add(category)
            db.session.flush()
            db.session.add(
                Complaint(
                    channel="phone",
                    client_id=person.id,
                    region_id=region("35.16.08.2003").id,
                    category_id=category.id,
                    complainant_name="Pak Joko",
                    complainant_phone="0812345678",
                    subject="Late payment",
                    description="He says the money never came",
                    status="resolved",
                    received_on=date(2015, 1, 1),
                    due_on=date(2015, 1, 15),
                    resolution="Paid",
                    resolved_at=now - age,
                    created_at=now - age,
                )
            )
            db.session.add(
                ImportBatch(filename="a.csv", content=b"x", uploaded_by_id=officer.id, created_at=now - age)
            )
            db.session.add(
                LoginSession(
                    id=f"s{age.days}", user_id=officer.id, expires_at=now - age, created_at=now - age
                )
            )
            db.session.add(ApiToken(user_id=officer.id, token_hash=f"h{age.days}", expires_at=now - age))
            audit.record("test.old", "client", person.id, user=officer)
        commit()
        # Back-date one audit entry as it was written long ago is impossible (the trigger); the audit
        # period is made short instead, so every entry is past it.
    app.config["RETENTION_AUDIT_DAYS"] = 0


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            "notes": db.session.scalar(select(func.count()).where(CaseNote.body != "")),
            "complainants": db.session.scalar(
                select(func.count()).where(Complaint.complainant_name.is_not(None))
            ),
            "files": db.session.scalar(select(func.count()).where(ImportBatch.content.is_not(None))),
            "sessions": db.session.scalar(select(func.count()).select_from(LoginSession)),
            "tokens": db.session.scalar(select(func.count()).select_from(ApiToken)),
            "audit": db.session.scalar(select(func.count()).select_from(AuditEntry)),
        }


def test_dry_run_then_run_then_nothing_left(app, demo):
    _old_and_new_records(app)
    try:
        before = _counts(app)
        runner = app.test_cli_runner()
        dry = runner.invoke(args=["retention", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "closed_cases: 1 past 1825 days -> anonymise" in dry.output
        assert "sessions: 1 past 90 days -> delete" in dry.output and "tokens: 1 past" in dry.output
        assert "audit_entries:" in dry.output and "-> report" in dry.output
        assert _counts(app) == before  # a dry run changes nothing

        done = runner.invoke(args=["retention"])
        assert done.exit_code == 0, done.output
        after = _counts(app)
        assert after["notes"] == before["notes"] - 1 and after["complainants"] == before["complainants"] - 1
        assert after["files"] == before["files"] - 1
        assert after["sessions"] == before["sessions"] - 1 and after["tokens"] == before["tokens"] - 1
        # Audit entries are never deleted: one more (the run's own), and the chain verifies.
        assert after["audit"] == before["audit"] + 1
        with app.app_context():
            entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.run"))
            assert entry.details["closed_cases"] == 1 and entry.details["sessions"] == 1
            assert entry.details["audit_entries_past_period"] >= 1
            kept = db.session.scalar(select(Case).where(Case.closure_note.is_not(None)))
            assert kept is not None  # the recent one
            with db.engine.connect() as conn:
                assert verify(conn).intact
        assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 0
        with app.app_context():
            assert all(line.count == 0 for line in retention.plan() if line.kind.action != "report")
    finally:
        app.config["RETENTION_AUDIT_DAYS"] = 3650


def test_the_admin_page_shows_the_dry_run_and_applies(app, demo, login_as, client, api_token):
    _old_and_new_records(app)
    try:
        admin = login_as("admin")
        page = admin.get("/privacy/retention")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and 'data-kind="closed_cases"' in html
        assert login_as("supervisor").get("/privacy/retention").status_code == 403
        plan = client.get("/api/v1/retention", headers=api_token("admin")).get_json()
        assert {k["kind"]: k["count"] for k in plan["kinds"]}["complaints"] == 1
        assert client.get("/api/v1/retention", headers=api_token("officer")).status_code == 403
        response = admin.post(
            "/privacy/retention/run", data={"csrf_token": csrf_token_from(html)}, follow_redirects=True
        )
        assert "Retention applied" in response.get_data(as_text=True)
        assert _counts(app)["complainants"] == 1
    finally:
        app.config["RETENTION_AUDIT_DAYS"] = 3650
