"""Case files as officers and supervisors use them: open, plan, follow up, reassign, close."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from srs.accounts.models import User
from srs.cases import services
from srs.cases.models import Case, FollowUpTask
from srs.core.models import AuditEntry
from srs.core.slots import render_slot, timeline_for
from srs.extensions import db
from srs.regions.models import Region
from srs.registry.models import Client
from tests.cases.conftest import acting_as, make_client
from tests.factories import region, user


def _client_id(app, region_code="35.16.08.2003"):
    with acting_as(app):
        return make_client(region_code, full_name="Sri Wahyuni").id


def _case(app, client_id):
    with app.app_context():
        return db.session.scalar(select(Case).where(Case.client_id == client_id))


def test_officer_opens_a_case_and_keeps_notes_tasks_and_a_plan(app, login_as):
    client_id = _client_id(app)
    officer = login_as("officer")
    assert officer.post(f"/cases/client/{client_id}", data={}).status_code == 302
    case = _case(app, client_id)
    assert case.status == "open"
    with app.app_context():
        assert db.session.get(User, case.officer_id).username == "officer.id1"
        officer_id = case.officer_id

    officer.post(f"/cases/{case.id}/notes", data={"body": "Sells vegetables at the market."})
    due = (services_today(app) + timedelta(days=3)).isoformat()
    officer.post(
        f"/cases/{case.id}/tasks",
        data={"title": "Bring the family card", "due_on": due, "assignee_id": officer_id},
    )
    officer.post(f"/cases/{case.id}/goals", data={"kind": "business", "description": "Open a food stall"})
    page = officer.get(f"/cases/client/{client_id}").get_data(as_text=True)
    assert "Sells vegetables at the market." in page
    assert "Bring the family card" in page
    assert "Open a food stall" in page

    # Bad input: the message is next to the field and what was typed stays.
    response = officer.post(
        f"/cases/{case.id}/tasks",
        data={"title": "Call her", "due_on": "2026-02-30", "assignee_id": officer_id},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "2026-02-30 is not a date" in html and 'value="Call her"' in html

    with app.app_context():
        actions = set(
            db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(case.id)))
        )
    assert {"case.open", "case.note", "case.task_add", "case.goal_add"} <= actions


def services_today(app):
    from srs.core.clock import today as today_local

    with app.app_context():
        return today_local()


def test_closure_needs_a_supervisor(app, login_as):
    client_id = _client_id(app)
    officer = login_as("officer")
    officer.post(f"/cases/client/{client_id}")
    case_id = _case(app, client_id).id

    response = officer.post(f"/cases/{case_id}/closure", data={"reason": ""})
    assert response.status_code == 422
    assert "Choose why the case is closed." in response.get_data(as_text=True)
    officer.post(f"/cases/{case_id}/closure", data={"reason": "goals_achieved", "note": "Enrolled"})
    assert _case(app, client_id).closure_requested_at is not None
    assert _case(app, client_id).status == "open"
    # The officer cannot approve their own request.
    assert officer.post(f"/cases/{case_id}/closure/decision", data={"decision": "approve"}).status_code == 403

    supervisor = login_as("supervisor")
    # Sending back needs a reason.
    assert (
        supervisor.post(f"/cases/{case_id}/closure/decision", data={"decision": "send_back"}).status_code
        == 422
    )
    supervisor.post(
        f"/cases/{case_id}/closure/decision", data={"decision": "send_back", "note": "Check the plan first"}
    )
    case = _case(app, client_id)
    assert case.closure_requested_at is None and case.status == "open"
    assert "Closure sent back: Check the plan first" in officer.get(f"/cases/client/{client_id}").get_data(
        as_text=True
    )

    officer.post(f"/cases/{case_id}/closure", data={"reason": "goals_achieved"})
    home = supervisor.get("/").get_data(as_text=True)
    assert "1 case waiting for closure approval" in home
    supervisor.post(f"/cases/{case_id}/closure/decision", data={"decision": "approve"})
    case = _case(app, client_id)
    assert case.status == "closed" and case.closure_reason == "goals_achieved" and case.closed_at is not None
    # A closed case takes no more notes.
    officer.post(f"/cases/{case_id}/notes", data={"body": "late note"})
    assert "late note" not in officer.get(f"/cases/client/{client_id}").get_data(as_text=True)


def test_supervisor_reassigns_a_case_to_an_officer_of_the_region(app, login_as):
    client_id = _client_id(app)
    officer = login_as("officer")
    officer.post(f"/cases/client/{client_id}")
    case_id = _case(app, client_id).id
    with acting_as(app):
        from srs.accounts import services as accounts

        accounts.create_user(
            accounts.UserInput(
                username="officer.id3",
                full_name="Rina Kusuma",
                email="rina@example.org",
                role="officer",
                region_codes=["35.16"],
                agency_code=None,
                password="correct-horse-battery",
            )
        )
        task = FollowUpTask(
            case_id=case_id, title="Visit", due_on=services_today(app), assignee_id=user("officer.id1").id
        )
        db.session.add(task)
        other = user("officer.id2").id
        newcomer = user("officer.id3").id

    # Officers cannot reassign; an officer of another district cannot take the case.
    assert officer.post(f"/cases/{case_id}/reassign", data={"officer_id": newcomer}).status_code == 403
    supervisor = login_as("supervisor")
    response = supervisor.post(f"/cases/{case_id}/reassign", data={"officer_id": other})
    assert response.status_code == 422
    assert "Choose an officer who works in the client" in response.get_data(as_text=True)

    supervisor.post(f"/cases/{case_id}/reassign", data={"officer_id": newcomer})
    case = _case(app, client_id)
    assert case.officer_id == newcomer
    with app.app_context():
        assert (
            db.session.scalar(select(FollowUpTask.assignee_id).where(FollowUpTask.case_id == case_id))
            == newcomer
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "case.reassigned")
            )
            == 1
        )


def test_task_list_shows_overdue_first_and_only_my_open_tasks(app, login_as):
    today = services_today(app)
    with acting_as(app, "officer.id1") as me:
        case = services.open_case(make_client(full_name="Ani"), me)
        other_case = services.open_case(make_client(full_name="Budi"), me)
        for title, days, case_ in [
            ("Next week", 7, case),
            ("Long overdue", -10, other_case),
            ("Tomorrow", 1, case),
            ("Yesterday", -1, case),
        ]:
            services.add_task(case_, services.TaskInput(title, today + timedelta(days=days), me.id), me)
        done = services.add_task(
            case, services.TaskInput("Already done", today - timedelta(days=20), me.id), me
        )
        services.complete_task(done, me)
    with acting_as(app, "officer.id1") as me:
        titles = [t.title for t in db.session.scalars(services.task_list_query(me))]
    assert titles == ["Long overdue", "Yesterday", "Tomorrow", "Next week"]

    page = login_as("officer").get("/cases/tasks").get_data(as_text=True)
    positions = [page.index(t) for t in titles]
    assert positions == sorted(positions) and "Already done" not in page
    home = login_as("officer").get("/").get_data(as_text=True)
    assert "2 overdue" in home and "Long overdue" in home
    # Another officer's list does not show them.
    assert "Long overdue" not in login_as("officer2").get("/cases/tasks").get_data(as_text=True)


def test_cases_are_scoped_to_the_clients_region(app, login_as):
    client_id = _client_id(app)
    login_as("officer").post(f"/cases/client/{client_id}")
    case_id = _case(app, client_id).id
    outsider = login_as("officer2")
    assert outsider.get(f"/cases/client/{client_id}").status_code == 404
    assert outsider.post(f"/cases/{case_id}/notes", data={"body": "x"}).status_code == 404
    assert "Sri Wahyuni" not in outsider.get("/cases/").get_data(as_text=True)
    assert "Sri Wahyuni" in login_as("supervisor").get("/cases/").get_data(as_text=True)


def test_case_shows_on_the_client_timeline_and_profile_panel(app, demo):
    from flask_login import login_user

    with acting_as(app, "officer.id1") as me:
        client = make_client(full_name="Dewi")
        case = services.open_case(client, me)
        services.add_note(case, "Talked about JKN", me)
        client_id = client.id
    with app.test_request_context():
        login_user(user("officer.id1"))
        client = db.session.get(Client, client_id)
        titles = [item.title for item in timeline_for(client)]
        assert "Case file opened" in titles and "Case note" in titles
        panel = str(render_slot("client_profile", client=client))
        assert "Case file" in panel and f"/cases/client/{client_id}" in panel
        assert isinstance(region("35.16"), Region)


HUGE_ID = "99999999999999999999"  # past every id column; SQLite could not even bind it


def test_an_officer_or_assignee_id_past_any_record_is_a_message_not_a_500(app, login_as):
    client_id = _client_id(app)
    officer = login_as("officer")
    response = officer.post(f"/cases/client/{client_id}", data={"officer_id": HUGE_ID})
    assert response.status_code == 302  # no officer chosen: the officer opening it keeps the case
    case_id = _case(app, client_id).id
    response = officer.post(
        f"/cases/{case_id}/tasks",
        data={"title": "Call her", "due_on": services_today(app).isoformat(), "assignee_id": HUGE_ID},
    )
    assert response.status_code in (302, 422)
    response = login_as("supervisor").post(f"/cases/{case_id}/reassign", data={"officer_id": HUGE_ID})
    assert response.status_code == 422
    assert "Choose an officer who works in the client" in response.get_data(as_text=True)
    assert _case(app, client_id).officer_id is not None
