"""The attacks of issue 11, played end to end against a running SRS, each with its answer.

Over real HTTP (a threaded server) where the attack needs it: parallel sign-ins, and what the access
log keeps. Through the app's test client where a browser or an API client would do the same. Every
test runs on both backends; the ones that only PostgreSQL can show skip on SQLite and say why.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from srs.agencies.models import Agency
from srs.cases import complaints as complaint_service
from srs.cases.models import Complaint, ComplaintCategory
from srs.core import lengths, outbound
from srs.core.access import roles_required
from srs.core.models import AuditEntry
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Delivery, OutboxMessage
from srs.regions.models import Region
from srs.registry.models import Client
from tests.conftest import DEMO_PASSWORD
from tests.factories import agency, make_client, refer
from tests.programmes.test_catalogue_admin import agency_form
from tests.referrals.agency_server import AgencyServer
from tests.referrals.conftest import run_jobs
from tests.registry.conftest import payload
from tests.registry.test_region_copies import (
    EVERY_ROLE,
    NEW_VILLAGE,
    OLD_DISTRICT,
    _cancel,
    _cancel_attempts,
    _expected,
    _move_by_api,
    _reach,
    _status,
    pair_across_districts,
)

from .conftest import LogCapture

METADATA = "http://169.254.169.254/latest/meta-data/"


def _entries(app, action: str, **where: Any) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        return list(db.session.scalars(stmt))


def _postgresql(app) -> bool:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


# ------------------------------------------------------------ 20 parallel wrong sign-ins


def test_twenty_parallel_guesses_over_http_reach_the_password_check_at_most_five_times(
    app, demo, live_url, password_checks
):
    """Attack: 20 wrong passwords for officer.id1 at once, half on /login, half on the token API.
    Before: 12 reached the password check. Answer: at most 5 (the account's budget), the rest 429."""
    start = threading.Barrier(20)
    statuses: dict[int, int] = {}

    def guess(n: int) -> None:
        start.wait()
        if n % 2:
            answer = requests.post(
                f"{live_url}/api/v1/auth/token",
                json={"username": "officer.id1", "password": f"guess-{n}"},
                timeout=60,
            )
        else:  # another spelling of the name: still the same account's budget
            answer = requests.post(
                f"{live_url}/login",
                data={"username": "Officer.ID1", "password": f"guess-{n}"},
                timeout=60,
                allow_redirects=False,
            )
        statuses[n] = answer.status_code

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == 20
    assert 1 <= len(password_checks) <= 5
    answers = list(statuses.values())
    assert set(answers) <= {200, 401, 429}  # the form again, the API's 401, or "too many attempts"
    assert answers.count(429) == 20 - len(password_checks)
    # The budget is spent for the account on both doors: the right password waits for the window.
    right = {"username": "officer.id1", "password": DEMO_PASSWORD}
    assert requests.post(f"{live_url}/api/v1/auth/token", json=right, timeout=30).status_code == 429
    assert requests.post(f"{live_url}/login", data=right, timeout=30).status_code == 429
    # Every failure and every lockout is in the audit log, though each refused request rolled back.
    failed = _entries(app, "login.failed")
    assert len(failed) == len(password_checks)
    assert {e.details["channel"] for e in failed} <= {"web", "api"}
    assert len(_entries(app, "login.locked")) == 22 - len(password_checks)


# ------------------------------------------------------------ moved and merged clients


def test_a_moved_client_is_read_as_every_role_only_where_she_lives_now(app, world):
    """Attack: after an admin moved the client from 35.16 to 35.76, the old district's officer reads
    and cancels her referral. Before: 200 for officer.id1, 404 for officer.id2 who now covers her.
    Answer: 404 for the old district on every page and API route, the new district reads and acts,
    the province's supervisor and the agency as before; each refusal is in the audit log."""
    _move_by_api(app, world.client_id, NEW_VILLAGE)
    for username in EVERY_ROLE:
        assert _reach(app, username, world) == _expected("new", username), username
    for username in OLD_DISTRICT:
        assert _cancel_attempts(app, username, world) == (404, 404), username
    assert _status(app, world) == "delivered"
    refused = _entries(app, "record.not_found", username="officer.id1")
    asked = {(e.object_type, e.object_id, e.details["endpoint"]) for e in refused}
    referral = str(world.referral_id)
    assert ("referral", referral, "referrals.detail") in asked
    assert ("referral", referral, "api.get_referral") in asked
    assert ("referral", referral, "api.cancel_referral") in asked
    assert _cancel(app, "officer.id2", world, "api") == 200


def test_a_client_merged_across_districts_is_read_as_every_role_where_the_kept_record_lives(app, world):
    """Attack: the duplicate in 35.16 is merged into a record of 35.76; the old district's officer
    goes on reading the referral. Answer: the referral follows the kept record for every role."""
    keep_id, pair_id = pair_across_districts(app, world)
    supervisor = app.test_client()
    supervisor.post("/login", data={"username": "supervisor.id", "password": DEMO_PASSWORD})
    assert supervisor.post(f"/clients/review/{pair_id}/merge", data={"keep": keep_id}).status_code == 302
    kept = dataclasses.replace(world, client_id=keep_id)
    for username in EVERY_ROLE:
        assert _reach(app, username, kept) == _expected("new", username), username
    for username in OLD_DISTRICT:
        assert _cancel_attempts(app, username, kept) == (404, 404), username
    assert _entries(app, "record.not_found", username="officer.id1", object_id=str(world.referral_id))


# ------------------------------------------------------------ webhooks against the network


def _send_to(url: str) -> OutboxMessage:
    """A referral to BPJSTK whose webhook address is ``url`` (stored past the form, as old data or
    a database edit would), sent by the delivery job; the webhook's outbox message afterwards."""
    bpjstk = agency("BPJSTK")
    bpjstk.channel, bpjstk.webhook_url, bpjstk.webhook_secret = "webhook", url, "s" * 24
    referral_id = refer().id
    commit()
    run_jobs()
    db.session.expire_all()
    return db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.referral_id == referral_id, OutboxMessage.channel == "webhook"
        )
    )


@pytest.fixture
def connections(monkeypatch):  # type: ignore[no-untyped-def]
    """Every connection the outbound guard lets SRS open (address and port)."""
    opened: list[Any] = []
    real = outbound._connect

    def counting(addresses, *args):  # type: ignore[no-untyped-def]
        opened.append(addresses)
        return real(addresses, *args)

    monkeypatch.setattr(outbound, "_connect", counting)
    return opened


def test_an_agency_webhook_pointed_at_the_cloud_metadata_service_is_refused(app, login_as, connections):
    """Attack: an admin points BPJSTK's webhook at http://169.254.169.254/latest/meta-data/.
    Before: saved, and every referral POSTed there. Answer: 422 on the form; an address already
    stored is refused by the delivery job before any connection, and the delivery is retried."""
    admin = login_as("admin")
    with app.app_context():
        bpjstk = agency("BPJSTK")
        agency_id, before = bpjstk.id, bpjstk.webhook_url
    form = agency_form(
        code="BPJSTK", name="BPJS", channel="webhook", webhook_url=METADATA, webhook_secret="s" * 24
    )
    saved = admin.post(f"/admin/agencies/{agency_id}", data=form)
    assert saved.status_code == 422 and "SRS never calls 169.254.169.254" in saved.get_data(as_text=True)
    with app.test_request_context():
        assert db.session.get(Agency, agency_id).webhook_url == before
        message = _send_to(METADATA)
        assert message.status == "pending" and "refused by the outbound guard" in message.last_error
        assert db.session.scalar(select(Delivery).where(Delivery.outbox_id == message.id)) is None
    assert connections == []


def test_in_production_a_private_address_is_refused_when_saved_and_when_sent(
    app, login_as, monkeypatch, connections
):
    """Attack: in production, an admin points an agency at a server on the office network (or at
    SRS's own host). Answer: refused on the form and by the delivery job, unless the network is
    listed in SRS_OUTBOUND_ALLOWED_NETWORKS; the server never hears from SRS."""
    monkeypatch.setitem(app.config, "OUTBOUND_STRICT", True)
    admin = login_as("admin")
    private = agency_form(channel="webhook", webhook_url="https://10.20.30.40/srs", webhook_secret="s" * 24)
    refused = admin.post("/admin/agencies/new", data=private)
    assert refused.status_code == 422 and "SRS_OUTBOUND_ALLOWED_NETWORKS" in refused.get_data(as_text=True)
    with AgencyServer() as server:
        local = server.url.replace("http://", "https://")
        with app.test_request_context():
            message = _send_to(local)
            assert "127.0.0.1" in message.last_error and "SRS_OUTBOUND_ALLOWED_NETWORKS" in message.last_error
            plain = _send_to(server.url)
            assert "https:// addresses only" in plain.last_error
        assert server.requests == []
    assert connections == []


# ------------------------------------------------------------ long fields, and what the log keeps

PERSON = "Ratna Kusumawati"
PHONE = "0812345678901234567890123456789012345678"  # 40 digits


def _complaint_form(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        complaint_service.ensure_categories()
        commit()
        category = db.session.scalar(select(ComplaintCategory.id).order_by(ComplaintCategory.id))
        region = db.session.scalar(select(Region.id).where(Region.code == "35.16"))
    return {
        "channel": "phone",
        "category_id": category,
        "subject": "No answer",
        "description": "Nobody called back",
        "region_id": region,
    }


def test_over_long_fields_are_a_422_with_the_fields_message_and_leave_nothing_personal_in_the_log(
    app, login_as, api_token, logs: LogCapture
):
    """Attack: a complaint with a 201-character name and a 41-character phone, a client with a
    201-character name. Before: a 500 on PostgreSQL, the name and phone in the logged traceback.
    Answer: 422 with the field's message on both backends; nothing stored; no log line holds them."""
    name = (PERSON + " ") * 12
    name = name[:201]
    phone = PHONE + "9"
    data = {**_complaint_form(app), "complainant_name": name, "complainant_phone": phone}
    response = login_as("officer").post("/complaints/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "At most 200 characters (this has 201)." in html and "At most 40 characters (this has 41)." in html
    api = app.test_client().post(
        "/api/v1/clients", json=payload(full_name=name, phone=phone), headers=api_token("officer")
    )
    assert api.status_code == 422
    errors = api.get_json()["errors"]
    assert errors["full_name"] == ["At most 200 characters (this has 201)."]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0
    assert logs.lines  # the requests were logged (SQL included) ...
    assert PERSON not in logs.text and PHONE not in logs.text  # ... without the person's data


def test_on_postgresql_a_value_past_every_check_is_a_500_whose_log_holds_no_personal_data(
    app, login_as, logs: LogCapture, monkeypatch
):
    """Defence in depth: were a field to slip past the forms and the length guard, PostgreSQL
    refuses it; the 500's logged traceback shows the SQL, never the values (hide_parameters)."""
    if not _postgresql(app):
        pytest.skip("SQLite stores an over-long value without complaint: only PostgreSQL refuses it")
    with app.test_request_context():
        client_id = make_client(full_name="Someone").id
        commit()
    monkeypatch.setattr(lengths, "over_long_values", lambda session: {})
    monkeypatch.setitem(app.config, "PROPAGATE_UNEXPECTED", False)

    def sloppy():  # type: ignore[no-untyped-def]
        client = db.session.get(Client, client_id)
        client.full_name, client.phone = (PERSON + " ") * 20, PHONE + "99"
        db.session.flush()
        return "saved"

    monkeypatch.setitem(app.view_functions, "registry.index", roles_required("officer")(sloppy))
    response = login_as("officer").get("/clients/")
    assert response.status_code == 500
    assert "unhandled error on GET /clients/" in logs.text
    assert "value too long" in logs.text and "parameters hidden" in logs.text
    assert PERSON not in logs.text and PHONE not in logs.text
    assert PERSON not in response.get_data(as_text=True)


# ------------------------------------------------------------ ID numbers and URLs


def test_an_id_number_never_enters_a_url_or_the_access_log(app, demo, live_url, logs: LogCapture):
    """Attack: read the access log (or a proxy's, or the browser history) for the ID numbers
    officers searched. Before: the HTML search was a GET with ?q=<NIK>. Answer: the search form and
    its pages post the query, the API has POST /clients/search, no link SRS writes holds the number."""
    browser = requests.Session()
    signed_in = browser.post(
        f"{live_url}/login", data={"username": "officer.id1", "password": DEMO_PASSWORD}, timeout=30
    )
    assert signed_in.status_code == 200 and signed_in.history  # redirected home
    token = requests.post(
        f"{live_url}/api/v1/auth/token",
        json={"username": "officer.id1", "password": DEMO_PASSWORD},
        timeout=30,
    ).json()["token"]
    api = {"Authorization": f"Bearer {token}"}
    body = payload()
    nik = body["id_number"]
    created = requests.post(f"{live_url}/api/v1/clients", json=body, headers=api, timeout=30)
    assert created.status_code == 201, created.text
    client_id = created.json()["id"]
    pages = [browser.get(f"{live_url}/", timeout=30), browser.get(f"{live_url}/clients/", timeout=30)]
    assert re.search(r'<form method="post" action="/clients/"[^>]*role="search"', pages[1].text)
    found = browser.post(f"{live_url}/clients/", data={"q": nik}, timeout=30)
    assert found.status_code == 200 and f"/clients/{client_id}" in found.text
    pages.append(found)
    pages.append(browser.post(f"{live_url}/clients/", data={"q": nik, "page": "2"}, timeout=30))
    profile = browser.get(f"{live_url}/clients/{client_id}", timeout=30)
    assert profile.status_code == 200
    pages.append(profile)
    searched = requests.post(f"{live_url}/api/v1/clients/search", json={"q": nik}, headers=api, timeout=30)
    assert [c["id"] for c in searched.json()["items"]] == [client_id]
    for page in pages:
        assert nik not in page.url and all(nik not in r.url for r in page.history)
        links = re.findall(r'(?:href|action|src)="([^"]*)"', page.text)
        assert links and not [link for link in links if nik in link], page.url
    access = logs.access_lines()
    assert any("POST /clients/" in line for line in access)
    assert any("POST /api/v1/clients/search" in line for line in access)
    assert not [line for line in access if nik in line]
    assert nik not in logs.text
    # The audit log keeps the search, masked, and the record it found.
    search = _entries(app, "client.search", username="officer.id1")[-1]
    assert nik not in str(search.details) and search.details["query"]["q"].endswith(nik[-4:])


# ------------------------------------------------------------ the audit chain


def _tamper(sql: str, **params: Any) -> None:
    """Change the log behind SRS's back, as someone with direct database access could."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off (superuser)
        conn.execute(text(sql), params)


def test_an_insider_who_removes_their_failed_sign_ins_from_the_log_is_caught_by_verify_audit(app, demo):
    """Attack: someone with database access deletes the trace of their guessing, or rewrites who it
    was. Answer: PostgreSQL's trigger refuses UPDATE and DELETE; one who switches triggers off
    breaks the hash chain, and ``flask verify-audit`` names the first broken link (exit code 1)."""
    http = app.test_client()
    http.post("/login", data={"username": "admin", "password": "wrong-guess"})
    http.post("/login", data={"username": "officer.id1", "password": DEMO_PASSWORD})
    http.get("/clients/")
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["verify-audit"])
    assert intact.exit_code == 0 and "audit chain intact" in intact.output
    [guess] = _entries(app, "login.failed")
    with app.app_context():
        later = db.session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.id > guess.id))
        if db.engine.dialect.name == "postgresql":
            for statement in (
                "DELETE FROM audit_entries WHERE id = :id",
                "UPDATE audit_entries SET action = 'x'",
            ):
                with pytest.raises(DBAPIError), db.engine.begin() as conn:
                    conn.execute(text(statement), {"id": guess.id})
        _tamper("DELETE FROM audit_entries WHERE id = :id", id=guess.id)
    broken = runner.invoke(args=["verify-audit"])
    assert broken.exit_code == 1
    assert f"entry {later}: prev_hash" in broken.output and "was removed or inserted" in broken.output
    with app.app_context():
        _tamper("UPDATE audit_entries SET username = 'someone.else' WHERE id = :id", id=later)
    assert "audit chain BROKEN" in runner.invoke(args=["verify-audit"]).output


# ------------------------------------------------------------ sessions and errors


def test_a_session_planted_before_sign_in_is_not_the_one_signed_in(app, demo):
    """Attack (session fixation): give the victim a cookie, wait for them to sign in with it.
    Answer: each sign-in opens a new server-side session with a fresh random id; the cookie planted
    before opens nothing, and the one of an earlier sign-in ends with its sign-out."""
    victim = app.test_client()
    victim.get("/login")
    planted = victim.get_cookie("srs_session")
    victim.post("/login", data={"username": "officer.id1", "password": DEMO_PASSWORD})
    first = victim.get_cookie("srs_session").value
    assert planted is None or planted.value != first
    if planted is not None:
        attacker = app.test_client()
        attacker.set_cookie("srs_session", planted.value)
        assert attacker.get("/").status_code == 302  # to the sign-in page
    victim.post("/logout")
    victim.post("/login", data={"username": "officer.id1", "password": DEMO_PASSWORD})
    with app.app_context():
        from srs.accounts.models import LoginSession

        ids = [s.id for s in db.session.scalars(select(LoginSession).order_by(LoginSession.created_at))]
    assert len(ids) == 2 and ids[0] != ids[1] and all(len(i) >= 43 for i in ids)  # 256 random bits
    replay = app.test_client()
    replay.set_cookie("srs_session", first)
    assert replay.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/clients/", "/api/v1/clients"])
def test_an_unexpected_error_answers_a_generic_message_without_its_details(
    app, login_as, api_token, monkeypatch, path
):
    """Attack: provoke an error and read the stack trace or the record in it. Answer: a generic
    page (or problem+json) with no exception text; the details go to the server's log only."""
    monkeypatch.setitem(app.config, "PROPAGATE_UNEXPECTED", False)

    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{PERSON} 3516084506880001 Traceback")

    endpoint = "registry.index" if path == "/clients/" else "api.list_clients"
    monkeypatch.setitem(app.view_functions, endpoint, roles_required("officer")(broken))
    if path.startswith("/api/"):
        response = app.test_client().get(path, headers=api_token("officer"))
        assert response.get_json()["status"] == 500
    else:
        response = login_as("officer").get(path)
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert PERSON not in body and "3516084506880001" not in body and "Traceback" not in body
