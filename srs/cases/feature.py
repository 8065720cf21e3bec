"""What cases and complaints add to the app: pages, home sections, slots, timeline, jobs, seed."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from srs.accounts.models import User
from srs.cases import jobs, policies, queries, services
from srs.cases.seed import seed_cases
from srs.cases.views import bp, complaints_bp
from srs.core import clock
from srs.core.pagination import Page
from srs.core.wiring import (
    AdminLink,
    Feature,
    HomeSection,
    NavEntry,
    PeriodicJob,
    SeedStep,
    Slot,
    TimelineItem,
)

ESCALATION_EVERY_SECONDS = 3600


def _home_tasks(user: User) -> dict[str, Any]:
    tasks, overdue = queries.home_tasks(user, 10)
    return {
        "page": Page(items=tasks, page=1, per_page=10, total=len(tasks)),
        "today": clock.today(),
        "overdue": overdue,
    }


def _home_supervisor(user: User) -> dict[str, Any]:
    return queries.supervisor_figures(user)


def case_panel(client: Any) -> dict[str, Any]:
    """What the case panel on the client profile shows (the profile page calls the slot)."""
    from flask_login import current_user

    if not policies.can_work_cases(current_user):
        return {"visible": False}
    case = services.case_for_client(client)
    today = clock.today()
    open_tasks = overdue = goals = 0
    if case is not None:
        open_tasks = sum(1 for t in case.tasks if t.done_at is None)
        overdue = sum(1 for t in case.tasks if t.done_at is None and t.due_on < today)
        goals = len(case.goals)
    open_complaints = queries.open_complaints_of(client)
    return {
        "visible": True,
        "case": case,
        "open_tasks": open_tasks,
        "overdue_tasks": overdue,
        "goals": goals,
        "open_complaints": open_complaints,
    }


def case_timeline(client: Any) -> list[TimelineItem]:
    """The client's case file and complaints as timeline entries."""
    items: list[TimelineItem] = []
    case = services.case_for_client(client)
    if case is not None:
        url = url_for("cases.client_case", client_id=client.id)
        officer = case.officer.full_name if case.officer else None
        items.append(TimelineItem(case.created_at, "case", _("Case file opened"), by=officer, url=url))
        for note in queries.notes_of(case):
            by = note.author.full_name if note.author else None
            items.append(TimelineItem(note.created_at, "note", _("Case note"), note.body[:200], by, url))
        for task in case.tasks:
            items.append(
                TimelineItem(task.created_at, "task", _("Follow-up task: %(t)s", t=task.title), url=url)
            )
            if task.done_at:
                items.append(TimelineItem(task.done_at, "task", _("Task done: %(t)s", t=task.title), url=url))
        if case.closed_at:
            items.append(TimelineItem(case.closed_at, "case", _("Case file closed"), url=url))
    for complaint in queries.complaints_of(client):
        items.append(
            TimelineItem(
                complaint.created_at,
                "complaint",
                _("Complaint %(n)s", n=complaint.tracking_number),
                complaint.subject,
                url=url_for("complaints.show", complaint_id=complaint.id),
            )
        )
    return items


FEATURE = Feature(
    name="cases",
    blueprints=(bp, complaints_bp),
    nav=(
        NavEntry("cases.list_cases", _l("Cases"), {"officer", "supervisor", "admin"}, order=39),
        NavEntry(
            "complaints.list_complaints", _l("Complaints"), {"officer", "supervisor", "admin"}, order=45
        ),
    ),
    home_sections=(
        HomeSection({"officer", "supervisor"}, "cases/_home_tasks.html", _home_tasks, order=30),
        HomeSection({"supervisor", "admin"}, "cases/_home_supervisor.html", _home_supervisor, order=20),
    ),
    admin_links=(AdminLink("complaints.categories", _l("Complaint deadlines"), order=59),),
    slots=(Slot("client_profile", "cases/_profile_panel.html", order=60),),
    timeline_sources=(case_timeline,),
    periodic_jobs=(PeriodicJob(jobs.escalate_overdue_complaints, ESCALATION_EVERY_SECONDS),),
    seed_steps=(SeedStep(60, seed_cases),),
    template_globals={"case_panel": case_panel},
    policies=(policies.can_work_cases, policies.can_decide_closure, policies.can_reassign_case),
)
