"""Case files (officer, status, notes, tasks, personal plan) and complaints with deadlines."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.accounts.models import User
from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model
from srs.regions.models import Region
from srs.registry.models import Client

CASE_STATUSES = ("open", "on_hold", "closed")
CLOSURE_REASONS = ("goals_achieved", "client_withdrew", "moved_away", "deceased", "no_contact", "other")
GOAL_KINDS = ("skills_training", "business", "job_placement", "scheme_enrolment")
GOAL_STATUSES = ("planned", "in_progress", "achieved", "dropped")

COMPLAINT_CHANNELS = ("office", "phone")
COMPLAINT_STATUSES = ("received", "in_progress", "resolved", "rejected")
COMPLAINT_OPEN_STATUSES = ("received", "in_progress")
FOLLOWUP_KINDS = ("referral", "data_correction")


class Case(Model):
    """One case file per client, kept by an assigned officer.

    Closing needs two people: the officer asks (``closure_requested_*``), a supervisor approves
    (status becomes closed) or sends it back (the request is cleared with a note).
    """

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_region_status", "region_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    # Copied from the client so scoping needs no join.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    hold_reason: Mapped[str | None] = mapped_column(Text)
    closure_reason: Mapped[str | None] = mapped_column(String(20))
    closure_note: Mapped[str | None] = mapped_column(Text)
    closure_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closure_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    client: Mapped[Client] = relationship()
    region: Mapped[Region] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    closure_requested_by: Mapped[User | None] = relationship(foreign_keys=[closure_requested_by_id])
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseNote.id.desc()"
    )
    tasks: Mapped[list[FollowUpTask]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="FollowUpTask.due_on"
    )
    goals: Mapped[list[PlanGoal]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="PlanGoal.id"
    )


class CaseNote(Model):
    """A dated note in a case file."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    case: Mapped[Case] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class FollowUpTask(Model):
    """Something to do for a client by a date, by one person."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (Index("ix_follow_up_tasks_assignee_open", "assignee_id", "done_at", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    case: Mapped[Case] = relationship(back_populates="tasks")
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])


class PlanGoal(Model):
    """One goal of the client's personal plan (training, business, job, scheme) and its status."""

    __tablename__ = "plan_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="planned")
    target_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    case: Mapped[Case] = relationship(back_populates="goals")


class ComplaintCategory(Model):
    """A kind of complaint and its deadline in working days (admins change the deadlines)."""

    __tablename__ = "complaint_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    working_days: Mapped[int] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)


class Complaint(Model):
    """A complaint taken at the office or by phone, about a client or anonymous."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str | None] = mapped_column(String(24), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("complaint_categories.id"))
    complainant_name: Mapped[str | None] = mapped_column(String(200))
    complainant_phone: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="received")
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_kind: Mapped[str | None] = mapped_column(String(20))
    followup_url: Mapped[str | None] = mapped_column(String(300))
    followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    client: Mapped[Client | None] = relationship()
    region: Mapped[Region] = relationship()
    category: Mapped[ComplaintCategory] = relationship()
