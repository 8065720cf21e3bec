"""Hostile values at every JSON API endpoint that takes input: problem+json, never a 500.

test_property.py covers POST /api/v1/clients with random bodies; this replaces one field at a time of a
valid body (or query string, or path id) of the others with garbage, and collects every failure with
its endpoint, field and value so one run shows them all. A 422 must name the fields it refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from srs.core.transaction import commit
from tests.factories import make_programme, refer
from tests.referrals.conftest import make_client

HOSTILE: list[Any] = [
    None,
    "",
    "x" * 5000,
    -1,
    0,
    99999999999999999999,
    2**63,
    "99999999999999999999",
    "2026-02-30",
    "1900-01-01",
    "\x00",
    "<script>alert(1)</script>",
    True,
    1.5,
    [],
    {},
    {"$gt": ""},
]
HOSTILE_QUERY = ["", "x" * 5000, "-1", "99999999999999999999", "2026-02-30", "1900-01-01", "\x00", "<script>"]
HUGE_IDS = ["99999999999999999999", "2147483648", "0"]


@pytest.fixture
def records(app: Flask, demo: dict[str, Any]) -> dict[str, int]:
    """A client, a programme and referrals in the states every action starts from."""
    with app.test_request_context():
        client = make_client()
        programme = make_programme()
        referrals = {}
        for status in ("delivered", "delivered_again", "accepted", "pending"):
            other = make_client(full_name=f"Client {status}")
            referral = refer(other, programme)
            referral.status = status.removesuffix("_again")
            referrals[status] = referral.id
        ids = {"client": client.id, "programme": programme.code, **referrals}  # type: ignore[dict-item]
        commit()
    return ids


def _check(failures: list[tuple[str, str, str, str]], what: str, field: str, value: Any, call: Any) -> None:
    shown = repr(value) if len(repr(value)) <= 30 else f"{repr(value)[:12]}...({len(repr(value))} chars)"
    try:
        response = call()
    except Exception as exc:  # noqa: BLE001 - collect every failure, not just the first
        failures.append((what, field, shown, f"{type(exc).__name__}: {str(exc)[:160]}"))
        return
    if response.status_code >= 500:
        failures.append((what, field, shown, str(response.status_code)))
    elif response.status_code >= 400 and response.mimetype != "application/problem+json":
        failures.append((what, field, shown, f"{response.status_code} {response.mimetype}"))
    elif response.status_code == 422 and not response.get_json().get("errors"):
        failures.append((what, field, shown, "422 without per-field errors"))


def _fuzz_body(
    failures: list[tuple[str, str, str, str]],
    client: FlaskClient,
    method: str,
    url: str,
    base: dict[str, Any],
    fields: list[str],
    headers: dict[str, str],
) -> None:
    send = getattr(client, method)
    for field in [*fields, "unknown_extra"]:
        for value in HOSTILE:
            body = {**base, field: value}
            _check(
                failures,
                f"{method.upper()} {url}",
                field,
                value,
                lambda b=body: send(url, json=b, headers=headers),
            )
    _check(failures, f"{method.upper()} {url}", "*", "{}", lambda: send(url, json={}, headers=headers))
    _check(failures, f"{method.upper()} {url}", "*", "[]", lambda: send(url, json=[], headers=headers))
    _check(failures, f"{method.upper()} {url}", "*", "not json", lambda: send(url, data="{", headers=headers))


def test_api_inputs_never_answer_500(client: FlaskClient, api_token: Any, records: dict[str, int]) -> None:
    officer, agency, supervisor = api_token("officer"), api_token("agency_staff"), api_token("supervisor")
    failures: list[tuple[str, str, str, str]] = []
    api = "/api/v1"

    _fuzz_body(
        failures,
        client,
        "post",
        f"{api}/referrals",
        {"client_id": records["client"], "programme_code": records["programme"]},
        ["client_id", "programme_code", "screening_id", "note", "consent_override_reason"],
        officer,
    )
    actions = [
        ("accept", records["delivered"], {"note": "ok"}, agency),
        ("decline", records["delivered_again"], {"reason": "not_eligible"}, agency),
        ("complete", records["accepted"], {"outcome": "successful"}, agency),
        ("cancel", records["pending"], {"reason": "moved away"}, officer),
    ]
    for name, referral_id, base, headers in actions:
        # The valid-looking body of a state change changes the state: the state is not what is tested here.
        fields = ["note", "reason", "outcome", "version"]
        _fuzz_body(failures, client, "post", f"{api}/referrals/{referral_id}/{name}", base, fields, headers)
        for value in HOSTILE_QUERY:
            url = f"{api}/referrals/{referral_id}/{name}"
            _check(
                failures,
                f"POST {url}",
                "If-Match",
                value,
                lambda u=url, v=value, h=headers: client.post(u, headers={**h, "If-Match": v}),
            )
    _fuzz_body(
        failures,
        client,
        "patch",
        f"{api}/clients/{records['client']}",
        {"full_name": "Sri Wahyuni"},
        [
            "full_name",
            "sex",
            "date_of_birth",
            "id_type",
            "id_number",
            "phone",
            "region_code",
            "monthly_income",
            "household_size",
            "welfare_decile",
            "welfare_date",
            "enrolments",
            "consent",
            "poverty_status",
            "version",
        ],
        officer,
    )
    _fuzz_body(
        failures,
        client,
        "post",
        f"{api}/auth/token",
        {"username": "x", "password": "y"},
        ["username", "password"],
        {},
    )

    queries = {
        f"{api}/referrals": (["status", "programme", "page", "per_page"], officer),
        f"{api}/clients": (["q", "page", "per_page", "region"], officer),
        f"{api}/programmes": (["country"], officer),
        f"{api}/regions": (["parent", "country"], officer),
        f"{api}/reports/summary": (["region", "from", "to", "programme"], supervisor),
    }
    for url, (params, headers) in queries.items():
        for param in params:
            for value in HOSTILE_QUERY:
                _check(
                    failures,
                    f"GET {url}",
                    param,
                    value,
                    lambda u=url, p=param, v=value, h=headers: client.get(u, query_string={p: v}, headers=h),
                )
    for huge in HUGE_IDS:
        for method, url, headers in [
            ("get", f"{api}/referrals/{huge}", officer),
            ("post", f"{api}/referrals/{huge}/accept", agency),
            ("get", f"{api}/clients/{huge}", officer),
            ("patch", f"{api}/clients/{huge}", officer),
            ("post", f"{api}/clients/{huge}/screenings", officer),
            ("get", f"{api}/screenings/{huge}", officer),
        ]:
            _check(
                failures,
                f"{method.upper()} {url}",
                "path",
                huge,
                lambda m=method, u=url, h=headers: getattr(client, m)(u, json={}, headers=h),
            )
    assert failures == [], "\n".join(" | ".join(f) for f in failures)
