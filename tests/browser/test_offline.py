"""In a real browser with the network switched off: register offline, sync once, wipe at sign-out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from srs.extensions import db
from srs.registry.models import Client
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD
from tests.registry.conftest import VILLAGE_ID1, nik_for

pytestmark = pytest.mark.browser

ALL_CREATED = "() => [...document.querySelectorAll('[data-testid=pending-row]')].every(r => r.dataset.state === 'created')"  # noqa: E501


def _clients(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Client))


def _install(page: Any) -> None:
    """Sign in, open the offline form online once: the service worker, field table and key arrive."""
    sign_in(page, "officer.id1", DEMO_PASSWORD)
    page.goto("/offline/")
    page.wait_for_selector("body[data-offline-ready='1']")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The page that installed the worker is not controlled by it until it is loaded again.
    page.reload()
    page.wait_for_selector("body[data-offline-ready='1']")
    assert page.evaluate("!!navigator.serviceWorker.controller")


def _save_offline(page: Any, name: str) -> None:
    """Install, go offline and save one registration on the device."""
    _install(page)
    page.context.set_offline(True)
    _fill(page, name)
    page.click("[data-testid=offline-save]")
    page.wait_for_selector("[data-testid=saved-note]:not([hidden])")


def _fill(page: Any, name: str, birth: str = "1988-06-05", sex: str = "female") -> None:
    from datetime import date

    page.fill("#f-full_name", name)
    page.select_option("#f-sex", sex)
    page.fill("#f-date_of_birth", birth)
    page.select_option("#f-id_type", "nik")
    page.fill("#f-id_number", nik_for(date.fromisoformat(birth), sex))
    page.select_option("#f-region_code", VILLAGE_ID1)
    page.check("#f-consent_given")
    # A date in the past for the browser and the server alike, whatever instant the suite runs at.
    page.fill("#f-consent_date", "2020-01-15")
    page.fill("#f-consent_scope", "Screening")


SETTLED = "() => [...document.querySelectorAll('[data-testid=pending-row]')].every(r => r.dataset.state !== 'in_progress')"  # noqa: E501


def _pending_states(page: Any) -> list[str]:
    """The rows' states once the page has synced; a row the server was still running when asked
    ('in_progress', as when the previous page's sync of it had not ended) is asked again by itself."""
    page.goto("/offline/pending")
    page.wait_for_selector("body[data-offline-ready='1']")
    page.wait_for_function(SETTLED, timeout=30_000)
    return _states(page)


def _states_once_created(page: Any) -> list[str]:
    """The rows' states once every one is created: a sync cut short (the page it started on was
    left, the server busy) is tried again by the page itself."""
    _pending_states(page)
    page.wait_for_function(ALL_CREATED, timeout=30_000)
    return _states(page)


def _states(page: Any) -> list[str]:
    return page.eval_on_selector_all("[data-testid=pending-row]", "rows => rows.map(r => r.dataset.state)")


def test_three_offline_registrations_survive_a_reload_and_sync_once(page, app, demo):
    _install(page)
    page.context.set_offline(True)
    page.reload()  # from the service worker's cache
    page.wait_for_selector("body[data-offline-ready='1']")
    for name in ("Siti Aminah", "Budi Santoso", "Dewi Lestari"):
        _fill(page, name, sex="female" if name != "Budi Santoso" else "male")
        page.click("[data-testid=offline-save]")
        page.wait_for_selector("[data-testid=saved-note]:not([hidden])")
        page.wait_for_function("() => document.querySelector('#f-full_name').value === ''")
    assert _pending_states(page) == ["pending"] * 3  # the pending list, offline, after a reload
    assert "Siti Aminah" in page.inner_text("[data-testid=pending-list]")
    # Nothing personal in the service worker's caches.
    cached = page.evaluate(
        """async () => { const out = [];
        for (const name of await caches.keys()) { const c = await caches.open(name);
          for (const r of await c.keys()) { out.push(r.url + ' ' + await (await c.match(r)).text()); } }
        return out.join('\\n'); }"""
    )
    assert "Siti Aminah" not in cached and "officer.id1" not in cached and "/offline/pending" in cached
    # ... nor in the device store: only ciphertext there.
    stored = page.evaluate(
        """() => new Promise(res => { const r = indexedDB.open('srs-offline');
        r.onsuccess = () => { const q = r.result.transaction('items').objectStore('items').getAll();
          q.onsuccess = () => res(JSON.stringify(q.result.map(
            i => [i.state, Array.from(new Uint8Array(i.box.data))]))); }; })"""
    )
    assert "Siti" not in stored and "pending" in stored
    assert _clients(app) == 0
    page.context.set_offline(False)
    page.click("[data-testid=sync-now]")
    page.wait_for_function(ALL_CREATED)
    assert _clients(app) == 3
    assert len(page.query_selector_all("[data-testid=pending-row] a")) == 3  # a link to each
    page.click("[data-testid=sync-now]")  # again: nothing more
    page.wait_for_timeout(300)
    assert _clients(app) == 3


def test_a_double_tap_on_save_makes_one(page, app, demo):
    _install(page)
    _fill(page, "Siti Aminah")
    page.dblclick("[data-testid=offline-save]")
    page.wait_for_selector("[data-testid=saved-note]:not([hidden])")
    assert _states_once_created(page) == ["created"]
    assert _clients(app) == 1


def test_a_sync_cut_halfway_and_resumed_makes_each_once(page, app, demo):
    _install(page)
    page.context.set_offline(True)
    for name in ("Siti Aminah", "Ani Wulandari", "Dewi Lestari"):
        _fill(page, name)
        page.click("[data-testid=offline-save]")
        page.wait_for_function("() => document.querySelector('#f-full_name').value === ''")
    cut = {"forwarded": False, "open": False}

    def half_then_drop(route: Any) -> None:
        # The first sync: the server gets the first two items, and the connection drops before the
        # answer arrives. Until the test opens the line again, every sync drops.
        if cut["open"]:
            route.continue_()
            return
        if not cut["forwarded"]:
            body = json.loads(route.request.post_data)
            body["operations"] = body["operations"][:2]
            route.fetch(post_data=json.dumps(body))
            cut["forwarded"] = True
        route.abort("connectionreset")

    page.route("**/offline/sync", half_then_drop)
    page.context.set_offline(False)
    assert _pending_states(page) == ["pending"] * 3  # the device never heard back
    assert cut["forwarded"] and _clients(app) == 2
    cut["open"] = True
    page.click("[data-testid=sync-now]")
    page.wait_for_function(ALL_CREATED)
    assert _clients(app) == 3


def test_the_offline_form_refuses_what_the_server_refuses(page, demo):
    _install(page)
    page.context.set_offline(True)
    from datetime import date

    _fill(page, "Siti Aminah", sex="male")
    page.fill("#f-id_number", nik_for(date(1988, 6, 5), "female"))  # a woman's NIK (day + 40) for a man
    page.fill("#f-phone", "12")
    page.click("[data-testid=offline-save]")
    assert "other sex" in page.inner_text("[data-errors=id_number]")
    assert "not a valid phone number" in page.inner_text("[data-errors=phone]")
    assert page.is_hidden("[data-testid=saved-note]")


def test_sign_out_wipes_the_device_store(page, demo):
    _save_offline(page, "Siti Aminah")
    page.context.set_offline(False)
    page.goto("/")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/login")
    names = page.evaluate("indexedDB.databases().then(dbs => dbs.map(d => d.name))")
    assert "srs-offline" not in names


def test_a_conflicting_offline_edit_reaches_the_conflict_view(page, app, demo):
    from srs.core.transaction import commit
    from srs.registry import services
    from tests.factories import user
    from tests.offline.conftest import offline_body

    # Consent dated in the past for the browser too (its clock is not the suite's frozen one).
    CONSENT = {"given": True, "date": "2020-01-15", "scope": "Screening"}  # noqa: N806

    with app.test_request_context():
        client = services.register_client(
            offline_body(occupation="Pedagang", consent=CONSENT), user("officer.id1")
        ).client
        commit()
        client_id = client.id
    _install(page)
    page.goto(f"/offline/edit#{client_id}")
    page.wait_for_selector("body[data-offline-ready='1']")
    assert page.input_value("#f-occupation") == "Pedagang"
    page.context.set_offline(True)
    page.reload()  # the record is read back from the device store
    page.wait_for_selector("body[data-offline-ready='1']")
    page.fill("#f-occupation", "Petani")
    page.fill("#f-address", "Dusun Baru RT 01")
    page.click("[data-testid=offline-save]")
    page.wait_for_selector("[data-testid=saved-note]:not([hidden])")
    with app.test_request_context():  # meanwhile, on the server
        services.update_client(
            db.session.get(Client, client_id), {"occupation": "Guru"}, user("officer.id1"), 1
        )
        commit()
    page.context.set_offline(False)
    assert _pending_states(page) == ["conflict"]
    page.click("[data-testid=choose]")
    row = page.inner_text("[data-testid=conflict-view] tr[data-field=occupation]")
    assert "Petani" in row and "Guru" in row
    assert page.query_selector("[data-testid=conflict-view] tr[data-field=address]") is None
    page.check("input[name=pick-occupation][value=server]")
    page.click("[data-testid=resolve]")
    page.wait_for_function(ALL_CREATED.replace("'created'", "'updated'"))
    with app.app_context():
        stored = db.session.get(Client, client_id)
        assert (stored.occupation, stored.address) == ("Guru", "Dusun Baru RT 01")


def test_an_id_number_taken_meanwhile_is_kept_to_fix_and_resend(page, app, demo):
    from datetime import date

    from srs.core.transaction import commit
    from srs.registry import services
    from tests.factories import user
    from tests.offline.conftest import offline_body

    _install(page)
    page.context.set_offline(True)
    _fill(page, "Siti Aminah")
    taken = page.input_value("#f-id_number")
    page.click("[data-testid=offline-save]")
    page.wait_for_selector("[data-testid=saved-note]:not([hidden])")
    with app.test_request_context():  # meanwhile another officer registers that NIK
        body = offline_body(full_name="Siti A.", id_number=taken, consent={"given": False})
        services.register_client(body, user("officer.id1"))
        commit()
    page.context.set_offline(False)
    assert _pending_states(page) == ["id_taken"]  # a question, not a lost record
    page.click("[data-testid=fix]")
    page.wait_for_selector("body[data-offline-ready='1']")
    assert page.input_value("#f-full_name") == "Siti Aminah"
    page.fill("#f-id_number", nik_for(date(1988, 6, 5), "female"))
    page.click("[data-testid=offline-save]")
    page.wait_for_selector("[data-testid=saved-note]:not([hidden])")
    assert _states_once_created(page) == ["created"]
    assert _clients(app) == 2


def test_a_record_the_server_was_still_running_is_sent_again_by_itself(page, app, demo, monkeypatch):
    """'in_progress' (the same key running in another request) is not an end state: the page asks
    again shortly, without the officer doing anything, and the record is created once."""
    from srs.core.idempotency import KeyInProgress
    from srs.offline import sync

    real = sync.run_keyed
    busy = {"left": 2}

    def still_running_at_first(*args: Any, **kwargs: Any) -> Any:
        if busy["left"]:
            busy["left"] -= 1
            raise KeyInProgress("still running")
        return real(*args, **kwargs)

    monkeypatch.setattr(sync, "run_keyed", still_running_at_first)
    _save_offline(page, "Siti Aminah")
    page.context.set_offline(False)
    assert _states_once_created(page) == ["created"]
    assert busy["left"] == 0  # it was answered 'in_progress' twice before
    assert _clients(app) == 1


def test_a_sync_that_failed_for_a_passing_reason_is_tried_again_by_itself(page, app, demo):
    """The connection dropped, then the server was busy (503): the page tries again a little later,
    without the officer pressing anything, and the record is created once."""
    answers = ["drop", "busy"]

    def flaky(route: Any) -> None:
        if not answers:
            route.continue_()
        elif answers.pop(0) == "drop":
            route.abort("connectionreset")
        else:
            route.fulfill(status=503, content_type="application/json", body='{"title": "busy"}')

    _save_offline(page, "Siti Aminah")
    page.route("**/offline/sync", flaky)
    page.context.set_offline(False)
    assert _states_once_created(page) == ["created"]
    assert answers == []  # it was dropped once and refused once before
    assert _clients(app) == 1
