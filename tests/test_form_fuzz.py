"""Every POST form a user reaches on the demo survives hostile input: a message, never a 500.

Like test_crawl.py this seeds the demo once and walks the links from the home page as each role; on
the way it collects every ``<form method="post">`` (its action and fields) and submits each kind a few
times with one field at a time replaced by garbage, with every field empty, and with an unknown extra
field. Exceptions are recorded (the test client re-raises them in TESTING mode) with the URL, field
and value, so one run shows every failure.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, true
from werkzeug.datastructures import MultiDict

from srs.accounts.models import User
from srs.cases.models import Case
from srs.core.transaction import commit
from srs.extensions import db
from srs.referrals.models import Referral
from srs.regions.models import Region
from srs.registry.models import Client, Household, HouseholdMember
from srs.seed import seed_demo
from tests.conftest import DEMO_PASSWORD, ROLE_USERS, login

pytestmark = pytest.mark.slow

HREF = re.compile(r'href="([^"#]+)"')
PAGES_PER_ROLE = 80
SAMPLES_PER_KIND = 2
# Forms whose action differs only in ids are alike: the first seen of each kind is fuzzed.
FORMS_PER_KIND = 1
# The values every field is tried with in turn (select fields also get an option that does not exist).
HOSTILE = [
    "",
    "x" * 5000,
    "-1",
    "99999999999999999999",
    "2026-02-30",
    "1900-01-01",
    "\x00",
    "<script>alert(1)</script>",
]
# A form kind already fuzzed as another role gets only these (the role changes what the view does,
# rarely how it parses): the whole run stays well under a minute and a half.
HOSTILE_AGAIN = ["", "x" * 5000, "99999999999999999999"]
NOT_A_NUMBER = "twelve"
NO_SUCH_OPTION = "no-such-option-\u00e9"
# Submitting these would end the walk (the session) rather than test input handling.
SKIP_ACTIONS = ("/logout",)


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    page: str
    fields: list[Field] = field(default_factory=list)

    def valid_looking(self) -> list[tuple[str, str]]:
        """The form as the page offers it: defaults, first option of selects, checked boxes."""
        data: list[tuple[str, str]] = []
        for f in self.fields:
            if f.kind in ("submit", "button", "file", "image", "reset"):
                continue
            if f.kind == "select":
                data.append((f.name, f.value or (f.options[0] if f.options else "")))
            else:
                data.append((f.name, f.value))
        return data


class _FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = Form(action=urljoin(self.page, a.get("action") or self.page), page=self.page)
                self.forms.append(self._form)
            else:
                self._form = None
            return
        if self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                # Still a field the fuzzer can set, but not sent by default.
                self._form.fields.append(Field(a["name"], kind, "", [a.get("value", "on")]))
                return
            self._form.fields.append(Field(a["name"], kind, a.get("value", "")))
        elif tag == "select":
            self._select = Field(a["name"], "select")
            self._form.fields.append(self._select)
        elif tag == "textarea":
            self._textarea = Field(a["name"], "textarea")
            self._form.fields.append(self._textarea)

    def _option(self, a: dict[str, str]) -> None:
        assert self._select is not None
        value = a.get("value", "")
        self._select.options.append(value)
        if "selected" in a:
            self._select.value = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _kind(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _crawl_forms(client: FlaskClient, start: list[str]) -> list[Form]:
    """Follow internal links breadth-first; return one form of every kind met on the way."""
    seen: set[str] = set()
    queue = deque(start)
    kinds: dict[str, int] = {}
    forms: dict[str, Form] = {}
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        parser = _FormParser(url)
        parser.feed(html)
        for form in parser.forms:
            path = urlsplit(form.action).path
            if path.startswith(SKIP_ACTIONS):
                continue
            forms.setdefault(_kind(path), form)
        for href in HREF.findall(html):
            parts = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            if parts.netloc not in ("", "localhost") or parts.path.startswith(("/static", "/logout")):
                continue
            kind = _kind(parts.path)
            kinds[kind] = kinds.get(kind, 0) + 1
            if kinds[kind] <= SAMPLES_PER_KIND:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return list(forms.values())


def _variants(form: Form, hostile: list[str]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(field, value, data) for each hostile submission of ``form``."""
    base = form.valid_looking()
    out: list[tuple[str, str, list[tuple[str, str]]]] = []
    out.append(("*", "(all empty)", [(name, "") for name, _v in base]))
    out.append(("extra", "unknown field", [*base, ("no_such_field", "x")]))
    names = list(dict.fromkeys(f.name for f in form.fields if f.kind not in ("submit", "button", "file")))
    by_name = {f.name: f for f in form.fields}
    for name in names:
        if name == "csrf_token":
            continue
        values = list(hostile)
        f = by_name[name]
        if f.kind in ("select", "radio", "checkbox") and hostile is HOSTILE:
            values.append(NO_SUCH_OPTION)
        if f.kind == "number" and hostile is HOSTILE:
            values.append(NOT_A_NUMBER)
        for value in values:
            data = [(n, v) for n, v in base if n != name] + [(name, value)]
            out.append((name, value, data))
    return out


def _short(value: str) -> str:
    return value if len(value) <= 30 else f"{value[:10]}...({len(value)} chars)"


def _fuzz(client: FlaskClient, form: Form, hostile: list[str]) -> list[tuple[str, str, str, str]]:
    failures = []
    path = urlsplit(form.action).path + (
        f"?{urlsplit(form.action).query}" if urlsplit(form.action).query else ""
    )
    for name, value, data in _variants(form, hostile):
        try:
            response = client.post(path, data=MultiDict(data))
        except Exception as exc:  # noqa: BLE001 - every failure is collected, not just the first
            failures.append((path, name, _short(value), f"{type(exc).__name__}: {str(exc)[:200]}"))
            db.session.rollback()
            continue
        if response.status_code >= 500:
            failures.append((path, name, _short(value), str(response.status_code)))
    return failures


def _start_pages(app: Flask, role: str) -> list[str]:
    """Home, then pages whose forms a short walk reaches too late (or never): a household with
    members (edit a member, change the head), a client without a case file, an accepted referral."""
    pages = ["/"]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == ROLE_USERS[role]))
        assert user is not None
        in_scope = Region.path.startswith(user.regions[0].path) if user.regions else true()
        member = db.session.scalar(
            select(HouseholdMember)
            .join(Household, Household.id == HouseholdMember.household_id)
            .join(Region, Region.id == Household.region_id)
            .where(in_scope, HouseholdMember.relationship_to_head != "head")
            .order_by(HouseholdMember.id)
            .limit(1)
        )
        head = member and db.session.scalar(
            select(HouseholdMember.client_id).where(
                HouseholdMember.household_id == member.household_id,
                HouseholdMember.relationship_to_head == "head",
                HouseholdMember.client_id.is_not(None),
            )
        )
        if member is not None and head:
            pages += [f"/clients/{head}", f"/clients/{head}/members/{member.id}/edit"]
        no_case = db.session.scalar(
            select(Client.id)
            .join(Region, Region.id == Client.region_id)
            .where(in_scope, ~Client.id.in_(select(Case.client_id)))
            .order_by(Client.id)
            .limit(1)
        )
        if no_case:
            pages += [f"/clients/{no_case}", f"/cases/client/{no_case}"]
        if user.agency_id is not None:
            accepted = db.session.scalar(
                select(Referral.id)
                .where(Referral.agency_id == user.agency_id, Referral.status == "accepted")
                .limit(1)
            )
            if accepted:
                pages.append(f"/referrals/{accepted}")
    return pages


def _snapshot(app: Flask, username: str) -> tuple[str, str, bool]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user.password_hash, user.role, user.active


def _restore(app: Flask, username: str, account: tuple[str, str, bool]) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        user.password_hash, user.role, user.active = account
        db.session.commit()


def test_every_post_form_of_the_demo_survives_hostile_input(app: Flask) -> None:
    with app.test_request_context():
        seed_demo(DEMO_PASSWORD)
        commit()
        db.session.remove()
    failures: list[tuple[str, str, str, str, str]] = []
    fuzzed: set[tuple[str, str]] = set()
    kinds: set[str] = set()
    for role in ("officer", "supervisor", "agency_staff", "admin"):
        client = app.test_client()
        assert login(client, ROLE_USERS[role]).status_code == 302
        account = _snapshot(app, ROLE_USERS[role])
        forms = _crawl_forms(client, _start_pages(app, role))
        assert forms, role  # the walk found forms to try
        for form in forms:
            kind = _kind(urlsplit(form.action).path)
            if (role, kind) in fuzzed:
                continue
            fuzzed.add((role, kind))
            hostile = HOSTILE_AGAIN if kind in kinds else HOSTILE
            kinds.add(kind)
            with app.app_context():
                failures += [(role, *f) for f in _fuzz(client, form, hostile)]
            # A hostile post may have changed the user's own account (an admin resetting their own
            # password, say) and signed the session out: put the account back and sign in again.
            if client.get("/").status_code != 200:
                _restore(app, ROLE_USERS[role], account)
                assert login(client, ROLE_USERS[role]).status_code == 302, (role, form.action)
    # The sign-in form, as someone not signed in (the limiter's 429 is an answer too).
    anonymous = app.test_client()
    [login_form] = [f for f in _crawl_forms(anonymous, ["/login"]) if urlsplit(f.action).path == "/login"]
    with app.app_context():
        failures += [("anonymous", *f) for f in _fuzz(anonymous, login_form, HOSTILE)]
    kinds.add("/login")
    assert len(kinds) > 40, sorted(kinds)
    assert failures == [], "\n".join(" | ".join(f) for f in failures)
