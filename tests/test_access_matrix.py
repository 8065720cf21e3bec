"""Every route, called as every role and anonymously, answers as its access declaration says.

Routes declare access with @public or @roles_required(...) (srs.core.access). A route without a
declaration fails this test, so every later feature is covered as soon as it adds a route.
"""

from __future__ import annotations

import re

import pytest

ROLES = ["officer", "agency_staff", "supervisor", "admin", "partner"]
# Bearer-token routes: the JSON API and the DCI Social Registry.
TOKEN_PREFIXES = ("/api/", "/dci/")
SKIP_ENDPOINTS = {"static"}


def _routes(app):
    # Sign-out and token revocation last: they end the session the other calls run in.
    rules = sorted(
        app.url_map.iter_rules(), key=lambda r: r.endpoint in ("accounts.logout", "api.revoke_token")
    )
    for rule in rules:
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, view, method


def _url(rule) -> str:
    # Fill every URL variable with a value of its converter's kind; 999999 exists nowhere.
    def repl(match: re.Match[str]) -> str:
        converter = match.group(1) or "default"
        return "999999" if converter in ("int", "float") else "zzz"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", repl, rule.rule)


def test_every_route_declares_who_may_call_it(app):
    undeclared = [rule.rule for rule, view, _m in _routes(app) if not hasattr(view, "srs_access")]
    assert undeclared == []


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_route_matrix(app, demo, role, login_as, api_token):
    # A partner system has no browser session (its sign-in page refuses it): pages treat it as anonymous.
    browser = app.test_client() if role in ("anonymous", "partner") else login_as(role)
    headers = {} if role == "anonymous" else api_token(role)
    failures = []
    for rule, view, method in _routes(app):
        access = view.srs_access
        url = _url(rule)
        is_api = url.startswith(TOKEN_PREFIXES)
        caller = app.test_client() if is_api else browser
        response = caller.open(
            url, method=method, headers=headers if is_api else {}, json={} if is_api else None
        )
        status = response.status_code
        if status >= 500:
            failures.append(f"{method} {url} as {role}: {status}")
            continue
        if access == "public":
            if status in (401, 403):
                failures.append(f"{method} {url} is public but answered {status} to {role}")
            continue
        allowed = role in access
        if role == "anonymous" or (role == "partner" and not is_api):
            expected_ok = (
                status == 401 if is_api else (status == 302 and "/login" in response.headers["Location"])
            )
            if not expected_ok:
                failures.append(f"{method} {url} anonymous: {status}")
        elif not allowed and status != 403:
            failures.append(f"{method} {url} as {role} (not allowed): {status}")
        elif allowed and status in (401, 403):
            failures.append(f"{method} {url} as {role} (allowed): {status}")
    assert failures == []


# Routes whose roles are spelled out here as well, so a change to their declaration is a visible choice.
DECLARED = {
    ("/reports/monthly.pdf", "GET"): {"supervisor", "admin"},
    ("/dci/registry/sync/search", "POST"): {"partner"},
    ("/dci/registry/search", "POST"): {"partner"},
    ("/dci/registry/subscribe", "POST"): {"partner"},
    ("/dci/registry/unsubscribe", "POST"): {"partner"},
    ("/dci/registry/txn/status", "POST"): {"partner"},
    ("/dci/registry/sync/txn/status", "POST"): {"partner"},
    ("/admin/dci/", "GET"): {"admin"},
}


def test_declared_routes_are_in_the_matrix(app):
    found = {(rule.rule, method): set(view.srs_access) for rule, view, method in _routes(app)}
    for key, roles in DECLARED.items():
        assert found.get(key) == roles, key


@pytest.mark.parametrize("role", ["anonymous", *(r for r in ROLES if r != "partner")])
def test_monthly_pdf_answers_each_role(app, demo, role, login_as):
    browser = app.test_client() if role == "anonymous" else login_as(role)
    response = browser.get("/reports/monthly.pdf")
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    elif role in DECLARED[("/reports/monthly.pdf", "GET")]:
        assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    else:
        assert response.status_code == 403


def test_a_partner_system_cannot_sign_in_in_a_browser(app, demo):
    from tests.conftest import login

    browser = app.test_client()
    response = login(browser, "partner.dci")
    assert response.status_code == 200 and "partner system" in response.get_data(as_text=True)
    assert browser.get("/").status_code == 302  # still signed out
