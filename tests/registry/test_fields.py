"""The client fields' table drives every consumer: a field added to it (here a hypothetical nickname,
kept in ``Client.extra``) appears in the form, the validator, the API, the importer, the merge, the
agencies' choices, the OpenAPI document and GET /api/v1/fields/clients; and the endpoint itself."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srs.api.openapi import document
from srs.core.errors import ValidationFailed
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.forms import ProgrammeForm
from srs.programmes.services import ProgrammeInput, _programme_errors
from srs.regions.services import get_by_code
from srs.registry import fields, importer, services
from srs.registry.forms import client_form
from srs.registry.idnumbers import ID_NUMBER_RULES, check_id_number, make_nik, make_vn_pid
from srs.registry.merge import merge_clients
from srs.registry.models import ID_TYPES, POVERTY_STATUSES, SEXES, WORK_STATUSES, Client
from srs.registry.validation import validate_client
from tests.registry.conftest import VILLAGE_ID1, payload, user

NICKNAME = fields.ClientField(
    "nickname",
    _l("Nickname"),
    "text",
    attribute=None,  # no column: kept in Client.extra
    max_length=40,
    share_key="nickname",
    share_label=_l("Nickname"),
)


@pytest.fixture
def nickname(monkeypatch):
    """The table with one more field, for this test only."""
    monkeypatch.setattr(fields, "CLIENT_FIELDS", (*fields.CLIENT_FIELDS, NICKNAME))
    return NICKNAME


def test_the_tables_choices_are_the_models_values():
    assert fields.get_field("sex").choice_values() == SEXES
    assert fields.get_field("id_type").choice_values() == ID_TYPES
    assert set(fields.get_field("work_status").choice_values()) == set(WORK_STATUSES)
    assert set(fields.get_field("poverty_status").choice_values()) == set(POVERTY_STATUSES)
    # Every text field's limit is its column's (or, for input stored otherwise, its own).
    assert fields.get_field("full_name").length_limit == 200
    assert fields.get_field("welfare_source").length_limit == 80


def test_an_added_field_appears_in_the_form_and_the_validator(app, demo, nickname):
    with app.test_request_context():
        form = client_form()
        assert "nickname" in form and "nickname" in [f.name for f in form.section("situation")]
        assert str(form.nickname.label.text) == "Nickname"
        assert "nickname" in form.to_input()
        officer = user("officer.id1")
        cleaned = validate_client(payload(nickname="  Siti  "), user=officer, lookup_region=get_by_code)
        assert cleaned["extra"] == {"nickname": "Siti"}
        with pytest.raises(ValidationFailed) as refused:
            validate_client(payload(nickname="x" * 41), user=officer, lookup_region=get_by_code)
        assert list(refused.value.errors) == ["nickname"]
        assert "At most 40 characters" in refused.value.errors["nickname"][0]


def test_an_added_field_is_on_the_page_stored_shown_by_the_api_and_edited(
    app, demo, nickname, login_as, api_token, client
):
    page = login_as("officer").get("/clients/new").get_data(as_text=True)
    assert 'name="nickname"' in page and "Nickname" in page
    headers = api_token("officer")
    created = client.post("/api/v1/clients", json=payload(nickname="Ami"), headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["nickname"] == "Ami"
    patched = client.patch(
        f"/api/v1/clients/{body['id']}",
        json={"version": body["version"], "nickname": "Aminah"},
        headers=headers,
    )
    assert patched.status_code == 200 and patched.get_json()["nickname"] == "Aminah"
    assert client.get(f"/api/v1/clients/{body['id']}", headers=headers).get_json()["nickname"] == "Aminah"
    with app.app_context():
        stored = db.session.get(Client, body["id"])
        assert stored.extra["nickname"] == "Aminah"
    spec = document()["components"]["schemas"]
    assert spec["ClientInput"]["properties"]["nickname"] == {"type": ["string", "null"], "maxLength": 40}
    assert "nickname" in spec["ClientPatch"]["properties"] and "nickname" in spec["Client"]["properties"]
    described = client.get("/api/v1/fields/clients", headers=headers).get_json()["items"]
    assert {"name": "nickname", "max_length": 40, "type": "text"}.items() <= described[-1].items()


def test_an_added_field_is_a_column_of_the_import(app, demo, nickname):
    assert importer.import_columns()[-1] == "nickname"
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["full_name", "sex", "date_of_birth", "region_code", "consent_given", "nickname"]
    )
    writer.writeheader()
    writer.writerow(
        {
            "full_name": "Warga Baru",
            "sex": "male",
            "date_of_birth": "1970-01-01",
            "region_code": VILLAGE_ID1,
            "consent_given": "no",
            "nickname": "Pak Baru",
        }
    )
    writer.writerow(
        {
            "full_name": "Warga Lain",
            "sex": "male",
            "date_of_birth": "1971-01-01",
            "region_code": VILLAGE_ID1,
            "consent_given": "no",
            "nickname": "n" * 41,
        }
    )
    content = out.getvalue().encode()
    assert "nickname" in importer.sample_csv().splitlines()[0].split(",")
    with app.test_request_context():
        officer = user("officer.id1")
        batch = services.start_import(
            "survey.csv", content, importer.count_rows("survey.csv", content), officer
        )
        importer.run_import(batch, officer)
        commit()
        assert (batch.imported, [row for row, _reason in batch.errors]) == (1, [3])
        assert batch.errors[0][1].startswith("nickname:")
        imported = db.session.scalar(db.select(Client).where(Client.full_name == "Warga Baru"))
        assert imported.extra["nickname"] == "Pak Baru" and imported.extra["row"] == 2


def test_an_added_field_is_merged_and_offered_to_agencies(app, demo, nickname, register_client):
    keep_id = register_client(full_name="Siti Aminah")
    duplicate_id = register_client(full_name="Siti Aminah", nickname="Ami")
    with app.test_request_context():
        keep, duplicate = db.session.get(Client, keep_id), db.session.get(Client, duplicate_id)
        merged = merge_clients(keep, duplicate, user("supervisor.id"))
        assert merged.client.extra["nickname"] == "Ami"
        assert ("nickname", NICKNAME.share_label) in ProgrammeForm().shared_fields.choices
        data = ProgrammeInput(code="X-1", agency_code="BPJSTK", country="ID", kind="social_assistance")
        data.shared_fields = ["nickname"]
        assert "shared_fields" not in _programme_errors(data, None)
    assert "nickname" in fields.share_labels()


def test_a_field_taken_out_of_the_table_is_gone_everywhere(app, demo, monkeypatch, api_token, client):
    monkeypatch.setattr(
        fields, "CLIENT_FIELDS", tuple(f for f in fields.CLIENT_FIELDS if f.name != "occupation")
    )
    assert "occupation" not in importer.import_columns()
    assert "occupation" not in fields.shared_field_choices()
    assert "occupation" not in document()["components"]["schemas"]["ClientInput"]["properties"]
    with app.test_request_context():
        assert "occupation" not in client_form()
    headers = api_token("officer")
    body = payload()
    body.pop("occupation")
    created = client.post("/api/v1/clients", json=body, headers=headers).get_json()
    assert "occupation" not in created
    refused = client.patch(
        f"/api/v1/clients/{created['id']}", json={"version": 1, "occupation": "Tani"}, headers=headers
    )
    assert refused.status_code == 422 and "occupation" in refused.get_json()["errors"]


def test_a_field_an_officer_may_not_edit_is_refused(app, demo, monkeypatch, api_token, client):
    admin_only = [
        fields.ClientField(**{**f.__dict__, "edit_roles": frozenset({"admin"})}) if f.name == "address" else f
        for f in fields.CLIENT_FIELDS
    ]
    monkeypatch.setattr(fields, "CLIENT_FIELDS", tuple(admin_only))
    created = client.post("/api/v1/clients", json=payload(), headers=api_token("officer")).get_json()
    url = f"/api/v1/clients/{created['id']}"
    refused = client.patch(url, json={"version": 1, "address": "Jl. Baru"}, headers=api_token("officer"))
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["address"]
    same = client.patch(url, json={"version": 1, "occupation": "Tani"}, headers=api_token("officer"))
    assert same.status_code == 200
    allowed = client.patch(url, json={"version": 2, "address": "Jl. Baru"}, headers=api_token("admin"))
    assert allowed.status_code == 200 and allowed.get_json()["address"] == "Jl. Baru"


# --- GET /api/v1/fields/clients ----------------------------------------------------------------


def test_fields_endpoint_needs_a_token(client, demo):
    response = client.get("/api/v1/fields/clients")
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("role", "editable"),
    [("officer", True), ("admin", True), ("supervisor", False), ("agency_staff", False)],
)
def test_fields_endpoint_for_each_role(client, demo, api_token, role, editable):
    response = client.get("/api/v1/fields/clients", headers=api_token(role))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["name"] for item in items] == list(fields.input_names())
    by_name = {item["name"]: item for item in items}
    assert {item["editable"] for item in items} == {editable}
    assert by_name["full_name"] | {"editable": None} == by_name["full_name"] | {
        "label": "Full name",
        "type": "name",
        "required": True,
        "max_length": 200,
        "editable": None,
    }
    assert by_name["sex"]["choices"] == [
        {"value": "female", "label": "Female"},
        {"value": "male", "label": "Male"},
    ]
    assert (by_name["household_size"]["min"], by_name["household_size"]["max"]) == (1, 50)
    assert by_name["pregnant"]["only_for_sex"] == "female"
    assert by_name["id_number"]["depends_on"] == ["id_type", "date_of_birth", "sex", "region_code"]
    assert by_name["id_number"]["personal"] is True
    rules = by_name["id_number"]["id_rules"]
    assert (rules["nik"]["length"], rules["vn_pid"]["length"]) == (16, 12)
    assert rules["nik"]["parts"][3]["female_offset"] == 40
    assert by_name["enrolments"]["pattern"] == fields.get_field("enrolments").pattern


def test_partner_systems_may_not_read_the_fields(client, demo, api_token):
    assert client.get("/api/v1/fields/clients", headers=api_token("partner")).status_code == 403


def test_fields_endpoint_labels_follow_the_callers_language(app, client, demo, api_token):
    headers = api_token("officer")
    with app.app_context():
        officer = user("officer.id1")
        officer.locale = "vi"
        commit()
        with app.test_request_context(), force_locale("vi"):
            expected = str(_l("Sex")), str(_l("Female"))
    assert expected != ("Sex", "Female")  # the catalogue has them
    body = client.get("/api/v1/fields/clients", headers=headers).get_json()
    sex = next(item for item in body["items"] if item["name"] == "sex")
    assert body["locale"] == "vi"
    assert (sex["label"], sex["choices"][0]["label"]) == expected


def test_openapi_describes_the_fields_endpoint_and_the_client_input_from_the_table(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/fields/clients" in spec["paths"] and "ClientField" in spec["components"]["schemas"]
    client_input = spec["components"]["schemas"]["ClientInput"]
    assert client_input["required"] == ["full_name", "sex", "date_of_birth", "region_code", "consent"]
    assert client_input["properties"]["welfare_source"]["maxLength"] == 80
    assert client_input["properties"]["work_status"]["enum"][-1] is None
    assert "household" in client_input["properties"]


# --- the ID rules as data agree with the checks ------------------------------------------------


def _digits(number: str, part: dict) -> str:
    first, last = part["digits"]
    return number[first - 1 : last]


def _fits_rules(id_type: str, number: str, birth: date | None, sex: str | None) -> bool:
    """What a client of the endpoint would conclude from ID_NUMBER_RULES alone (no SRS code)."""
    rule = ID_NUMBER_RULES[id_type]
    if not re.fullmatch(rule["pattern"], number):
        return False
    parts = {p["name"]: p for p in rule["parts"]}
    for part in rule["parts"]:
        text = _digits(number, part)
        if "allowed" in part and int(text) not in part["allowed"]:
            return False
        if text in part.get("not", []):
            return False
        if "range" in part and not part["range"][0] <= int(text) <= part["range"][1]:
            return False
        if "ranges" in part and not any(low <= int(text) <= high for low, high in part["ranges"].values()):
            return False
    if id_type == "nik":
        raw_day = int(_digits(number, parts["birth_day"]))
        female = raw_day > rule["sex"]["female_if_over"]
        day = raw_day - parts["birth_day"]["female_offset"] if female else raw_day
        month = int(_digits(number, parts["birth_month"]))
        year2 = int(_digits(number, parts["birth_year"]))
        if birth is not None:
            if (day, month, year2) != (birth.day, birth.month, birth.year % 100):
                return False
        else:
            try:
                date(2000, month, day)
            except ValueError:
                return False
    else:
        code = int(_digits(number, parts["century_sex"]))
        female = code % 2 == 1
        year = (
            parts["century_sex"]["century_base"]
            + (code // 2) * 100
            + int(_digits(number, parts["birth_year"]))
        )
        if birth is not None and year != birth.year:
            return False
    return sex not in ("female", "male") or (sex == "female") == female


_births = st.dates(min_value=date(1906, 1, 1), max_value=date(2030, 12, 31))
_sexes = st.sampled_from(["female", "male", None])


@st.composite
def _numbers(draw: st.DrawFn) -> tuple[str, str, date | None, str | None]:
    id_type = draw(st.sampled_from(["nik", "vn_pid"]))
    birth, sex = draw(_births), draw(st.sampled_from(["female", "male"]))
    if draw(st.booleans()):  # a well-made number, perhaps with one digit changed
        region = draw(st.sampled_from(["351608", "317101", "110000", "990101"]))
        number = (
            make_nik(region, birth, sex, draw(st.integers(0, 9999)))
            if id_type == "nik"
            else make_vn_pid(draw(st.integers(0, 999)), birth, sex, draw(st.integers(0, 999999)))
        )
        if draw(st.booleans()):
            at = draw(st.integers(0, len(number) - 1))
            number = number[:at] + str(draw(st.integers(0, 9))) + number[at + 1 :]
    else:
        number = draw(st.text("0123456789", min_size=10, max_size=17))
    return id_type, number, draw(st.one_of(st.just(birth), _births, st.none())), draw(_sexes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_numbers())
def test_the_id_rules_as_data_agree_with_the_checks(app, case):
    id_type, number, birth, sex = case
    with app.app_context():
        assert _fits_rules(id_type, number, birth, sex) == (
            check_id_number(id_type, number, birth, sex) == []
        )
