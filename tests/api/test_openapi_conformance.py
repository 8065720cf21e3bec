"""The OpenAPI description says exactly what the server does: schemathesis finds nothing, as every role.

Schemathesis reads /api/v1/openapi.json from the app itself and runs its whole engine over it, the same
phases and checks as ``st run`` (examples, coverage, fuzzing, stateful), over HTTP to the app on the
test database (``live_url``; schemathesis 4.32's WSGI transport passes ``max_redirects`` on to
werkzeug and fails in the stateful phase): a route another
feature adds is tested as soon as it is described. Every check is a finding: a server error, a status,
header or body the description does not list, a valid request refused, an invalid one accepted, a 405
without ``Allow``. The seed is fixed and the examples bounded, so a run is the same every time and
short; each role gets a fresh database (tests/conftest.py), so what one role's cases create or publish
never reaches another's.

To see the same findings against a running server: ``st run http://127.0.0.1:5000/api/v1/openapi.json
-H "Authorization: Bearer <token>" --seed 20261201``.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from flask import Flask
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from srs.api.openapi import RULES_BEYOND_SCHEMA
from tests.conftest import DEMO_PASSWORD, ROLE_USERS

ROLES = ["officer", "supervisor", "admin", "agency_staff", "partner"]
# Enough to reach every declared limit and enum, few enough that all roles take well under two minutes.
MAX_EXAMPLES = 5
SEED = 20261201


def _token(app: Flask, role: str) -> str:
    response = app.test_client().post(
        "/api/v1/auth/token", json={"username": ROLE_USERS[role], "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def _describe(label: str, failure: Any, interaction: Any) -> str:
    """One line per finding: operation, check, and the request and answer that showed it."""
    line = f"{label}: {failure.code} {failure.title}: {' '.join(failure.message.split())[:160]}"
    if interaction is not None and interaction.response is not None:
        request, response = interaction.request, interaction.response
        body = (request.body or b"")[:120]
        line += f" | {request.method} {request.uri[:160]} {body!r}"
        line += f" -> {response.status_code} {response.content[:200]!r}"
    return line


def rules_beyond_schema(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per operation that lists rules JSON Schema cannot state: a 422 for a schema-valid request is allowed.

    Only there, and only 422 (with its field errors, which the response schema checks): every other
    operation must accept what its schema admits.
    """
    accepted = ["2xx", "3xx", 401, 403, 404, 409, 422, 429]
    return [
        {
            "include-path": path,
            "include-method": method.upper(),
            "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
        }
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get(RULES_BEYOND_SCHEMA)
    ]


def findings(base_url: str, headers: dict[str, str]) -> list[str]:
    """Every failed check and engine error of one schemathesis run over the app's description."""
    document = requests.get(f"{base_url}/api/v1/openapi.json", timeout=30).json()
    settings = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            # Nothing kept between runs (a run must not depend on the one before), nor left in the checkout.
            "cache": {"enabled": False},
            "headers": headers,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "operations": rules_beyond_schema(document),
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=settings)
    found: set[str] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            recorder = event.recorder
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        interaction = recorder.interactions.get(case_id)
                        found.add(_describe(recorder.label, check.failure_info.failure, interaction))
        elif isinstance(event, events.NonFatalError):
            found.add(f"{event.label}: error {type(event.value).__name__}: {str(event.value)[:200]}")
        elif isinstance(event, events.FatalError):
            found.add(f"fatal {type(event.exception).__name__}: {str(event.exception)[:200]}")
    return sorted(found)


@pytest.mark.parametrize("role", ROLES)
def test_api_does_what_its_description_says(
    app: Flask, demo: dict[str, Any], live_url: str, role: str
) -> None:
    # DELETE /auth/token revokes the token in use; the later cases then see a 401 each, which the
    # description allows, so the run goes on (and also checks that a revoked token is refused).
    found = findings(live_url, {"Authorization": f"Bearer {_token(app, role)}"})
    assert not found, f"{len(found)} findings as {role}:\n" + "\n".join(found)
