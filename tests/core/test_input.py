"""Input that no database column can hold is handled once, as the request is parsed or an id is read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from srs.accounts.models import User
from srs.core.ids import MAX_ID, parse_id
from srs.core.requests import without_nul
from srs.extensions import db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        (12, 12),
        (MAX_ID, MAX_ID),
        (MAX_ID + 1, None),
        ("99999999999999999999", None),
        ("9" * 5000, None),  # int() would refuse it past 4300 digits
        ("0", None),
        (-1, None),
        ("-1", None),
        ("\u0661\u0662", None),  # Arabic-Indic digits: str.isdigit() says yes, no id says so
        ("1.5", None),
        (True, None),
        (None, None),
        ("", None),
    ],
)
def test_parse_id_takes_only_ids_an_id_column_can_hold(raw, expected):
    assert parse_id(raw) == expected


def test_a_path_id_past_any_record_is_a_404_not_a_500(login_as):
    officer = login_as("officer")
    for url in ("/clients/99999999999999999999", "/clients/2147483648", "/cases/99999999999999999999"):
        assert officer.get(url).status_code == 404, url


def test_without_nul_walks_strings_lists_and_dicts():
    assert without_nul({"a\x00": ["b\x00c", 1, None, {"d": "\x00"}]}) == {"a": ["bc", 1, None, {"d": ""}]}


def test_nul_characters_are_dropped_from_forms_queries_and_json(app, login_as, client, api_token):
    # PostgreSQL cannot store or even compare U+0000: every use of one in a form was a 500 there.
    admin = login_as("admin")
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer.id1"))
    response = admin.post(
        f"/admin/users/{officer_id}",
        data={"full_name": "Bu\x00di", "role": "officer", "regions": ["35.16\x00"], "active": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, officer_id)
        assert user.full_name == "Budi" and [r.code for r in user.regions] == ["35.16"]
    headers = api_token("officer")
    assert client.get("/api/v1/regions?parent=35.16\x00", headers=headers).status_code == 200
    response = client.post(
        "/api/v1/referrals", json={"client_id": 1, "programme_code": "\x00"}, headers=headers
    )
    assert response.status_code == 422 and "programme_code" in response.get_json()["errors"]
