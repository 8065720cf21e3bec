"""Demo step (order 60): a few case files, tasks, a plan and complaints for the demo clients.

One complaint is received long enough ago to be past its deadline, so the escalation shows at once.
Idempotent: clients that already have a case file and complaints already seeded are left alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from srs.accounts.models import User
from srs.cases import complaints as complaint_service
from srs.cases import services
from srs.cases.models import Complaint
from srs.core import clock
from srs.extensions import db
from srs.registry.models import Client

DEMO_MARK = "[demo]"


def seed_cases(password: str) -> list[str]:
    """Open cases for up to four Indonesian demo clients and take three complaints."""
    clients = list(
        db.session.scalars(
            select(Client).where(Client.merged_into_id.is_(None)).order_by(Client.id).limit(200)
        )
    )
    officers = list(db.session.scalars(select(User).where(User.role == "officer", User.active.is_(True))))
    if not clients or not officers:
        return ["Cases: no demo clients yet, nothing to add."]
    today = clock.today()
    opened = 0
    chosen = []
    for client in clients:
        keepers = services.officers_for(client.region_id)
        if not keepers:
            continue
        chosen.append((client, keepers[0]))
        if len(chosen) == 4:
            break
    for i, (client, officer) in enumerate(chosen):
        if services.case_for_client(client) is not None:
            continue
        case = services.open_case(client, officer)
        services.add_note(case, "First meeting: works as a street vendor, no social insurance yet.", officer)
        services.add_goal(case, "scheme_enrolment", "Enrol in BPJS Ketenagakerjaan BPU", None, officer)
        services.add_goal(
            case, "skills_training", "Join a bookkeeping course for small traders", None, officer
        )
        due = today - timedelta(days=3) if i == 0 else today + timedelta(days=7 + i)
        services.add_task(case, services.TaskInput("Call back about the documents", due, officer.id), officer)
        if i == 1:
            services.request_closure(case, "goals_achieved", "Enrolled and trained.", officer)
        opened += 1
    complaints = 0
    already = db.session.scalar(select(Complaint.id).where(Complaint.subject.startswith(DEMO_MARK)).limit(1))
    if already is None and chosen:
        complaint_service.ensure_categories()
        cats = {c.code: c for c in complaint_service.categories()}
        client, officer = chosen[0]
        specs = [
            ("light", "office", client.id, 30, "Nobody called back about my referral"),
            ("normative", "phone", None, 1, "Office closed during opening hours"),
            ("investigation", "office", client.id, 0, "Wrong data on my family card"),
        ]
        for code, channel, client_id, days_ago, subject in specs:
            complaint_service.create_complaint(
                complaint_service.ComplaintInput(
                    channel=channel,
                    category_id=cats[code].id,
                    subject=f"{DEMO_MARK} {subject}",
                    description=subject + ".",
                    client_id=client_id,
                    region_id=client.region_id,
                    received_on=today - timedelta(days=days_ago),
                ),
                officer,
            )
            complaints += 1
        db.session.flush()
        complaint_service.escalate_overdue(today)
    return [f"Cases: {opened} case files opened, {complaints} complaints taken (one already overdue)."]
