"""Random payloads at POST /api/v1/clients: never a 500, never a half-saved client or household."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from srs.extensions import db
from srs.registry.models import Client, Household, HouseholdMember
from srs.registry.validation import INPUT_FIELDS
from tests.registry.conftest import payload

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        ["", "nik", "vn_pid", "none", "female", "male", "1988-06-05", "2999-01-01", "35.16.08.2003"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
members = st.lists(
    st.fixed_dictionaries(
        {
            "full_name": st.one_of(st.text(max_size=20), st.none()),
            "relationship_to_head": st.sampled_from(["child", "head", "x"]),
        },
        optional={"date_of_birth": values, "sex": values},
    ),
    max_size=3,
)


@st.composite
def bodies(draw):  # type: ignore[no-untyped-def]
    body = payload() if draw(st.booleans()) else {}
    for name in draw(st.lists(st.sampled_from([*INPUT_FIELDS, "household", "unknown"]), max_size=6)):
        body[name] = draw(values)
    if draw(st.booleans()):
        body["household"] = draw(st.one_of(values, st.fixed_dictionaries({"members": members})))
    return body


def _counts() -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(m)) or 0
        for m in (Client, Household, HouseholdMember)
    )  # type: ignore[return-value]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies())
def test_random_payloads_never_500_and_never_half_saved(app, client, api_token, body):
    headers = api_token("officer")
    with app.app_context():
        before = _counts()
    response = client.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code in (201, 409, 422), (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    with app.app_context():
        after = _counts()
        if response.status_code == 201:
            created = db.session.get(Client, response.get_json()["id"])
            assert after[0] == before[0] + 1
            if created.household_id is not None:
                assert any(m.client_id == created.id for m in created.household.members)
        else:
            assert response.mimetype == "application/problem+json"
            assert after == before
