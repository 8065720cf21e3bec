"""What the case and complaint home sections, panel and timeline read (read-only; views stay thin)."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.accounts.models import User
from srs.cases import services
from srs.cases.models import COMPLAINT_OPEN_STATUSES, Case, CaseNote, Complaint, FollowUpTask
from srs.core import clock
from srs.extensions import db
from srs.regions.scope import region_id_condition
from srs.registry.models import Client


def home_tasks(user: User, limit: int = 10) -> tuple[list[FollowUpTask], int]:
    """The first open tasks of ``user``'s list, and how many of the whole list are overdue."""
    stmt = services.task_list_query(user)
    tasks = list(db.session.scalars(stmt.limit(limit)))
    overdue = db.session.scalar(
        select(func.count()).select_from(
            stmt.where(FollowUpTask.due_on < clock.today()).order_by(None).subquery()
        )
    )
    return tasks, overdue or 0


def supervisor_figures(user: User) -> dict[str, int]:
    """Closures waiting for a decision, overdue complaints and how many of them were escalated."""
    closures = db.session.scalar(
        select(func.count())
        .select_from(Case)
        .where(
            Case.closure_requested_at.is_not(None),
            Case.status != "closed",
            region_id_condition(Case.region_id, user),
        )
    )
    overdue, escalated = db.session.execute(
        select(func.count(), func.count(Complaint.escalated_at))
        .select_from(Complaint)
        .where(
            Complaint.status.in_(COMPLAINT_OPEN_STATUSES),
            Complaint.due_on < clock.today(),
            region_id_condition(Complaint.region_id, user),
        )
    ).one()
    return {"closures": closures or 0, "overdue": overdue, "escalated": escalated}


def open_complaints_of(client: Client) -> int:
    stmt = (
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.client_id == client.id, Complaint.status.in_(COMPLAINT_OPEN_STATUSES))
    )
    return db.session.scalar(stmt) or 0


def notes_of(case: Case) -> list[CaseNote]:
    return list(db.session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)))


def complaints_of(client: Client) -> list[Complaint]:
    """The client's complaints, newest first (the client is already loaded in the reader's scope)."""
    stmt = select(Complaint).where(Complaint.client_id == client.id).order_by(Complaint.id.desc())
    return list(db.session.scalars(stmt))
