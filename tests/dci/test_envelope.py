"""Message-level answers: tokens, sender ids, bodies, headers, signatures, replays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from srs.core import clock
from tests.dci.conftest import search_body, search_item, set_profile, sign_body
from tests.dci.spec import assert_response

URL = "/dci/registry/sync/search"


def _error(response):  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert body["message"]["ack_status"] == "ERR"
    return body["message"]["error"]["code"]


def _query(people):  # type: ignore[no-untyped-def]
    return search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]})


def test_no_token_and_a_person_token_are_refused(client, partner, people, api_token):
    body = search_body(_query(people))
    response = client.post(URL, json=body)
    assert response.status_code == 401 and _error(response) == "err.request.unauthorized"
    assert_response("/registry/sync/search", response.get_json(), "401")
    # A browser cookie never opens /dci/; an officer's token is a person's, not a partner's.
    response = client.post(URL, json=body, headers=api_token("officer"))
    assert response.status_code == 403 and _error(response) == "err.request.forbidden"
    assert_response("/registry/sync/search", response.get_json(), "403")


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        (lambda b: b["header"].update(sender_id="someone.else"), "err.sender_id.invalid", 403),
        (lambda b: b["header"].update(version="2.0.0"), "err.version.not_supported", 400),
        (lambda b: b["header"].update(receiver_id="another-registry"), "err.receiver_id.invalid", 400),
        (lambda b: b["header"].update(is_msg_encrypted=True), "err.encryption.invalid", 400),
        (lambda b: b["header"].pop("message_id"), "err.request.bad", 400),
        (lambda b: b.pop("message"), "err.request.bad", 400),
        (lambda b: b["message"].update(transaction_id="x" * 100), "err.request.bad", 400),
        (lambda b: b["message"].update(search_request={}), "err.request.bad", 400),
    ],
)
def test_message_level_problems_are_errors(client, partner, people, change, code, status):
    body = search_body(_query(people))
    change(body)
    response = client.post(URL, json=body, headers=partner["headers"])
    assert response.status_code == status
    assert _error(response) == code
    assert_response("/registry/sync/search", response.get_json())


def test_a_body_that_is_not_json_is_a_bad_request(client, partner):
    response = client.post(
        URL, data="{not json", headers={**partner["headers"], "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and _error(response) == "err.request.bad"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: b["header"].update(total_count=5), "rjct.total_count.invalid"),
        (lambda b: b["header"].update(action="subscribe"), "rjct.action.invalid"),
        (lambda b: b["header"].update(message_ts="2026-01-01T10:00:00"), "rjct.message_ts.invalid"),
        (
            lambda b: b["header"].update(message_ts=(clock.now() + timedelta(hours=1)).isoformat()),
            "rjct.message_ts.invalid",
        ),
    ],
)
def test_header_problems_reject_a_sync_message_with_the_specs_reason(client, partner, people, change, code):
    body = search_body(_query(people))
    change(body)
    response = client.post(URL, json=body, headers=partner["headers"])
    assert response.status_code == 200
    data = response.get_json()
    assert data["header"]["status"] == "rjct" and data["header"]["status_reason_code"] == code
    assert data["message"]["search_response"] == []
    assert_response("/registry/sync/search", data)
    # The async endpoint refuses the same message at once, naming the reason.
    response = client.post("/dci/registry/search", json=body, headers=partner["headers"])
    assert response.status_code == 400 and code in response.get_json()["message"]["error"]["message"]


def test_one_message_id_one_message(client, partner, people):
    body = search_body(_query(people))
    first = client.post(URL, json=body, headers=partner["headers"]).get_json()
    again = client.post(URL, json=body, headers=partner["headers"]).get_json()
    assert again["message"]["correlation_id"] == first["message"]["correlation_id"]
    body["message"]["transaction_id"] = "another"
    other = client.post(URL, json=body, headers=partner["headers"]).get_json()
    assert other["header"]["status_reason_code"] == "rjct.message_id.duplicate"


@pytest.fixture
def partner_key(app, partner) -> Ed25519PrivateKey:  # type: ignore[no-untyped-def]
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    set_profile(app, public_key=pem.decode())
    return key


def test_a_partner_with_a_key_must_sign(client, partner, people, partner_key):
    body = search_body(_query(people))
    response = client.post(URL, json=body, headers=partner["headers"])
    assert response.status_code == 401 and _error(response) == "err.signature.missing"
    body["signature"] = "invalid-signature"
    response = client.post(URL, json=body, headers=partner["headers"])
    assert response.status_code == 401 and _error(response) == "err.signature.invalid"
    sign_body(body, partner_key)
    response = client.post(URL, json=body, headers=partner["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["message"]["search_response"][0]["status"] == "succ"


def test_a_signature_by_another_key_or_over_another_message_is_invalid(client, partner, people, partner_key):
    body = sign_body(search_body(_query(people)), Ed25519PrivateKey.generate())
    assert _error(client.post(URL, json=body, headers=partner["headers"])) == "err.signature.invalid"
    body = sign_body(search_body(_query(people)), partner_key)
    body["message"]["search_request"][0]["reference_id"] = "tampered"
    assert _error(client.post(URL, json=body, headers=partner["headers"])) == "err.signature.invalid"


def test_signatures_expire_after_300_seconds_with_60_seconds_of_skew(client, partner, people, partner_key):
    now = clock.now().timestamp()
    old = sign_body(search_body(_query(people)), partner_key, now=now - 300 - 61)
    assert _error(client.post(URL, json=old, headers=partner["headers"])) == "err.signature.invalid"
    within_skew = sign_body(search_body(_query(people)), partner_key, now=now - 300 - 30)
    assert client.post(URL, json=within_skew, headers=partner["headers"]).status_code == 200
    future = sign_body(search_body(_query(people)), partner_key, now=now + 120)
    assert _error(client.post(URL, json=future, headers=partner["headers"])) == "err.signature.invalid"
