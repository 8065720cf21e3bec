"""Subscribe, notify (REGISTER, UPDATE, DELETE from registry changes) and unsubscribe, through the outbox."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from srs.core import clock
from srs.dci import jobs
from srs.dci.models import DciChange, DciOutbox, DciSubscription
from srs.extensions import db
from srs.registry.models import Client, Household, HouseholdMember
from tests.dci.conftest import header, region, run_jobs, set_profile
from tests.dci.spec import assert_request, assert_response

POOR = [{"expression1": {"attribute_name": "poverty_score", "operator": "le", "attribute_value": "3"}}]


def _subscribe(client, partner, callbacks, *criteria):  # type: ignore[no-untyped-def]
    items = [
        {
            "reference_id": f"sub-{i}",
            "timestamp": clock.now().isoformat(),
            "subscribe_criteria": {"reg_type": "ns:org:RegistryType:Social", **c},
            "locale": "eng",
        }
        for i, c in enumerate(criteria)
    ]
    body = {
        "signature": "",
        "header": header("subscribe", len(items), sender_uri=callbacks.base + "callbacks/on-subscribe"),
        "message": {"transaction_id": "txn-sub", "subscribe_request": items},
    }
    assert_request("/registry/subscribe", body)
    response = client.post("/dci/registry/subscribe", json=body, headers=partner["headers"])
    assert response.status_code == 202, response.get_json()
    assert_response("/registry/subscribe", response.get_json())
    run_jobs()
    callbacks.wait(1)
    answer = callbacks.bodies("on-subscribe")[-1]
    assert_request("/registry/on-subscribe", answer)
    assert answer["message"]["correlation_id"] == response.get_json()["message"]["correlation_id"]
    return answer["message"]["subscribe_response"]


def _criteria(event: str, record: str = "Member", filter_: object = POOR) -> dict:
    return {
        "reg_event_type": event,
        "filter_type": "predicate",
        "filter": filter_,
        "notify_record_type": record,
    }


def _dispatch(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        queued = jobs.dispatch_changes()
    run_jobs()
    return queued


def _new_client(app, name: str, decile: int, consent: bool = True) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        client = Client(
            full_name=name,
            name_key=name.lower(),
            sex="female",
            date_of_birth=date(1990, 3, 3),
            region_id=region("35.16.08.2003").id,
            welfare_decile=decile,
            consent_given=consent,
        )
        db.session.add(client)
        db.session.commit()
        return client.id


def test_register_update_and_delete_events_reach_their_subscribers(app, client, partner, people, callbacks):
    answers = _subscribe(
        client, partner, callbacks, _criteria("REGISTER"), _criteria("UPDATE"), _criteria("DELETE", "Group")
    )
    assert [a["status"] for a in answers] == ["succ", "succ", "succ"]
    codes = [a["subscriptions"][0]["code"] for a in answers]
    earlier = _dispatch(app)  # the people fixture's registrations were waiting to be dispatched too
    callbacks.wait(earlier)
    callbacks.calls.clear()

    rich = _new_client(app, "Orang Kaya", decile=9)
    poor = _new_client(app, "Orang Miskin", decile=2)
    _new_client(app, "Tanpa Izin", decile=1, consent=False)
    assert _dispatch(app) == 1
    callbacks.wait(1)
    (notify,) = callbacks.bodies("notify")
    assert callbacks.calls[-1]["path"] == "/registry/notify"
    assert_request("/registry/notify", notify)
    (event,) = notify["message"]["notify_event"]
    assert event["data"]["reg_event_type"] == "REGISTER" and event["subscription_code"] == codes[0]
    assert event["data"]["reg_records"]["@id"] == f"urn:srs:client:{poor}"
    assert rich  # a richer person does not match the filter: no notification about them

    callbacks.calls.clear()
    with app.app_context():
        db.session.get(Client, people["siti"]).phone = "+6281299990000"
        db.session.commit()
    assert _dispatch(app) == 1
    callbacks.wait(1)
    (notify,) = callbacks.bodies("notify")
    assert_request("/registry/notify", notify)
    assert notify["message"]["notify_event"][0]["event_type"] == "UPDATE"
    assert notify["header"]["meta"] == {"subscription_code": codes[1], "event_type": "UPDATE"}

    callbacks.calls.clear()
    with app.app_context():
        db.session.get(Client, people["siti"]).consent_given = False
        db.session.commit()
    assert _dispatch(app) == 1
    callbacks.wait(1)
    (notify,) = callbacks.bodies("notify")
    assert_request("/registry/notify", notify)
    event = notify["message"]["notify_event"][0]
    assert event["event_type"] == "DELETE" and "demographic_info" not in event["data"]["reg_records"]
    # Dispatching again finds nothing new: every change is notified once.
    assert _dispatch(app) == 0
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(DciChange).where(DciChange.dispatched_at.is_(None))
            )
            == 0
        )
        assert (
            db.session.scalar(select(func.count()).select_from(DciOutbox).where(DciOutbox.action == "notify"))
            == earlier + 3
        )


def test_a_subscription_cannot_probe_what_the_profile_forbids(app, client, partner, callbacks):
    set_profile(app, attributes=["age"])
    answers = _subscribe(
        client,
        partner,
        callbacks,
        _criteria("REGISTER"),
        _criteria("BIRTH"),
        {**_criteria("REGISTER"), "notify_record_type": "Farmer"},
    )
    assert [a["status_reason_code"] for a in answers] == [
        "rjct.notify_details.invalid",
        "rjct.notify_types.invalid",
        "rjct.notify_types.invalid",
    ]


def test_unsubscribe_ends_the_notifications(app, client, partner, people, callbacks):
    (answer,) = _subscribe(client, partner, callbacks, _criteria("REGISTER"))
    code = answer["subscriptions"][0]["code"]
    _dispatch(app)
    callbacks.calls.clear()
    body = {
        "signature": "",
        "header": header("unsubscribe", 1, sender_uri=callbacks.base + "callbacks/on-unsubscribe"),
        "message": {
            "transaction_id": "txn-unsub",
            "timestamp": clock.now().isoformat(),
            "subscription_codes": [code],
        },
    }
    assert_request("/registry/unsubscribe", body)
    response = client.post("/dci/registry/unsubscribe", json=body, headers=partner["headers"])
    assert response.status_code == 202
    assert_response("/registry/unsubscribe", response.get_json())
    run_jobs()
    callbacks.wait(1)
    (answer,) = callbacks.bodies("on-unsubscribe")
    assert_request("/registry/on-unsubscribe", answer)
    assert answer["message"]["status"] == "succ"
    assert answer["message"]["subscription_status"] == [{"code": code, "status": "unsubscribe"}]
    # Again: already unsubscribed. An unknown code, or another partner's, reads as unknown.
    for codes, reason in (
        ([code], "rjct.event.already_unsubscribed"),
        (["SUB-NOPE"], "rjct.subscription_code.invalid"),
    ):
        body["header"] = header("unsubscribe", 1, sender_uri=callbacks.base + "callbacks/on-unsubscribe")
        body["message"]["subscription_codes"] = codes
        client.post("/dci/registry/unsubscribe", json=body, headers=partner["headers"])
        run_jobs()
        callbacks.wait(2)
        last = callbacks.bodies("on-unsubscribe")[-1]
        assert_request("/registry/on-unsubscribe", last)
        assert last["message"]["status_reason_code"] == reason
    callbacks.calls.clear()
    _new_client(app, "Orang Miskin", decile=2)
    assert _dispatch(app) == 0
    with app.app_context():
        assert (
            db.session.scalar(select(DciSubscription.status).where(DciSubscription.code == code))
            == "unsubscribe"
        )


def test_a_person_joining_a_household_is_notified_as_link(app, client, partner, people, callbacks):
    (answer,) = _subscribe(client, partner, callbacks, _criteria("LINK", "Group"))
    assert answer["status"] == "succ", answer
    code = answer["subscriptions"][0]["code"]
    callbacks.wait(_dispatch(app))
    callbacks.calls.clear()

    poor = _new_client(app, "Anggota Baru", decile=2)
    with app.app_context():
        person = db.session.get(Client, poor)
        household = Household(region_id=person.region_id, address="Jl. Sawah 3")
        db.session.add(household)
        db.session.flush()
        db.session.add(HouseholdMember(household_id=household.id, client_id=poor, full_name=person.full_name))
        person.household_id = household.id
        db.session.commit()
        household_id = household.id
    assert _dispatch(app) == 1  # the REGISTER before it has no subscriber; the LINK has one
    callbacks.wait(1)
    (notify,) = callbacks.bodies("notify")
    assert_request("/registry/notify", notify)
    (event,) = notify["message"]["notify_event"]
    assert event["event_type"] == "LINK" and event["subscription_code"] == code
    assert event["data"]["reg_event_type"] == "NewHouseHoldMember"
    assert event["data"]["reg_records"]["@id"] == f"urn:srs:household:{household_id}"
