"""Sync and async search: every query type, consent, scoping to the partner's profile, pagination."""

from __future__ import annotations

from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.dci import signing
from srs.dci.models import DciOutbox, DciTransaction
from srs.extensions import db
from tests.dci.conftest import run_jobs, search_body, search_item, set_profile
from tests.dci.spec import assert_request, assert_response


def _sync(client, partner, body):  # type: ignore[no-untyped-def]
    assert_request("/registry/sync/search", body)
    response = client.post("/dci/registry/sync/search", json=body, headers=partner["headers"])
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert_response("/registry/sync/search", data)
    return data


def _records(data):  # type: ignore[no-untyped-def]
    return data["message"]["search_response"][0]["data"]["reg_records"]


def _ids(records):  # type: ignore[no-untyped-def]
    return sorted(
        int(i["identifier_value"])
        for r in records
        for i in r["member_identifier"]
        if i["identifier_type"] == "SRS_CLIENT_ID"
    )


def test_sync_search_by_nik_answers_a_signed_member_record(app, client, partner, people):
    body = search_body(search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}))
    data = _sync(client, partner, body)
    assert data["header"]["action"] == "on-search"
    assert data["header"]["status"] == "succ"
    item = data["message"]["search_response"][0]
    assert item["status"] == "succ" and item["reference_id"] == "ref-1"
    assert item["pagination"] == {"page_size": 20, "page_number": 1, "total_count": 1}
    (record,) = _records(data)
    assert record["demographic_info"]["name"]["given_name"] == "Siti Aminah"
    assert {
        "@type": "Identifier",
        "identifier_type": "NIK",
        "identifier_value": people["siti_nik"],
    } in record["member_identifier"]
    # Signed by SRS's key, published at /.well-known/jwks.json.
    jwk = client.get("/.well-known/jwks.json").get_json()["keys"][0]
    key = signing.load_public_key(jwk["x"])
    assert signing.verify(data["signature"], data["header"], data["message"], key).ok
    assert signing.parse(data["signature"])["kidId"].endswith(f"|{jwk['kid']}|ed25519")
    with app.app_context():
        shared = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "dci.record_shared")).all()
        assert [(e.object_id, e.details["partner"], e.username) for e in shared] == [
            (str(people["siti"]), "Test partner", "partner.test")
        ]
        searched = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dci.search"))
        assert searched.details["id_type"] == "NIK" and searched.details["returned"] == 1


def test_a_person_without_consent_is_never_returned(client, partner, people):
    body = search_body(search_item("idtype-value", {"type": "UIN", "value": people["hidden_nik"]}))
    data = _sync(client, partner, body)
    assert _records(data) == []
    assert data["message"]["search_response"][0]["pagination"]["total_count"] == 0


def test_uin_finds_either_country_and_mobile_and_household(client, partner, people):
    body = search_body(
        search_item("idtype-value", {"type": "UIN", "value": people["lan_pid"]}, "r1"),
        search_item("idtype-value", {"type": "UIN", "value": people["siti_nik"]}, "r2"),
        search_item("idtype-value", {"type": "MOBILE", "value": "0812-3456-7890"}, "r3"),
        search_item("idtype-value", {"type": "HOUSEHOLD_ID", "value": str(people["household"])}, "r4"),
        search_item(
            "idtype-value",
            {"type": "HOUSEHOLD_ID", "value": str(people["household"])},
            "r5",
            response_entity="Group",
        ),
    )
    data = _sync(client, partner, body)
    found = [_ids(i["data"]["reg_records"]) for i in data["message"]["search_response"][:4]]
    assert found == [
        [people["lan"]],
        [people["siti"]],
        [people["siti"]],
        sorted([people["siti"], people["budi"]]),
    ]
    (group,) = data["message"]["search_response"][4]["data"]["reg_records"]
    assert group["@type"] == "Group" and group["group_size"] == 3
    assert group["group_identifier"][0]["identifier_value"] == str(people["household"])
    assert {m.get("relationship_head") for m in group["member_list"]} == {"SELF", "CHILD", "GRNDCHILD"}
    assert group["group_head_info"]["demographic_info"]["name"]["given_name"] == "Budi Hartono"


def test_predicate_search_with_pagination(client, partner, people):
    # Numbers go as text: the spec's attribute_value is oneOf integer / number, which no integer can
    # satisfy (it is both). SRS reads "25" as 25, and takes a bare 25 as well.
    predicate = [
        {
            "seq_num": 1,
            "expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": "25"},
            "condition": "and",
            "expression2": {"attribute_name": "poverty_score", "operator": "le", "attribute_value": "3"},
        }
    ]
    first = _sync(
        client, partner, search_body(search_item("predicate", predicate, pagination={"page_size": 1}))
    )
    item = first["message"]["search_response"][0]
    assert item["pagination"] == {"page_size": 1, "page_number": 1, "total_count": 2}
    second = _sync(
        client,
        partner,
        search_body(search_item("predicate", predicate, pagination={"page_size": 1, "page_number": 2})),
    )
    assert sorted(_ids(_records(first)) + _ids(_records(second))) == sorted([people["siti"], people["lan"]])
    gender = [{"expression1": {"attribute_name": "gender", "operator": "eq", "attribute_value": "male"}}]
    assert _ids(_records(_sync(client, partner, search_body(search_item("predicate", gender))))) == [
        people["budi"]
    ]


def test_expression_search_answers_groups(client, partner, people):
    expression = {
        "type": "ns:org:QueryType:expression",
        "value": {
            "expression": {
                "collection": "Group",
                "query": {"$and": [{"poverty_score": {"$lt": 5}}, {"location": {"$eq": "35.16"}}]},
            }
        },
    }
    data = _sync(client, partner, search_body(search_item("expression", expression, response_entity="Group")))
    (group,) = _records(data)
    assert group["@id"] == f"urn:srs:household:{people['household']}"


def test_attributes_and_id_types_outside_the_profile_are_rejected(app, client, partner, people):
    set_profile(app, attributes=["age", "gender"], id_types=["NIK"])
    predicate = [{"expression1": {"attribute_name": "disability", "operator": "eq", "attribute_value": True}}]
    data = _sync(
        client,
        partner,
        search_body(
            search_item("predicate", predicate, "r1"),
            search_item("idtype-value", {"type": "MOBILE", "value": "081234567890"}, "r2"),
            search_item(
                "predicate",
                [{"expression1": {"attribute_name": "age", "operator": "gt", "attribute_value": "60"}}],
                "r3",
            ),
        ),
    )
    items = data["message"]["search_response"]
    assert [i["status"] for i in items] == ["rjct", "rjct", "succ"]
    assert items[0]["status_reason_code"] == "rjct.search_criteria.invalid"
    assert "disability" in items[0]["status_reason_message"]
    assert items[1]["status_reason_code"] == "rjct.search_criteria.invalid"
    assert _ids(items[2]["data"]["reg_records"]) == [people["budi"]]


def test_record_fields_outside_the_profile_are_left_out(app, client, partner, people):
    set_profile(app, record_fields=["sex"])
    data = _sync(
        client,
        partner,
        search_body(search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]})),
    )
    (record,) = _records(data)
    assert record["demographic_info"] == {"@type": "SRPerson", "sex": "female"}
    assert "is_disabled" not in record and [i["identifier_type"] for i in record["member_identifier"]] == [
        "SRS_CLIENT_ID"
    ]


def test_each_search_request_is_judged_on_its_own(client, partner, people):
    nik = {"type": "NIK", "value": people["siti_nik"]}
    bad_time = search_item("idtype-value", nik, "r3")
    bad_time["timestamp"] = "2026-01-01T10:00:00"
    body = search_body(
        search_item("idtype-value", nik, "r1", pagination={"page_size": 0}),
        search_item("idtype-value", nik, "r2", pagination={"page_size": 1000}),
        bad_time,
        search_item("idtype-value", nik, "r4"),
        search_item("idtype-value", nik, "r4"),
        search_item("idtype-value", nik, "r6", sort=[{"attribute_name": "disability", "sort_order": "asc"}]),
        search_item("graphql", {"type": "x", "value": {}}, "r7"),
    )
    response = client.post("/dci/registry/sync/search", json=body, headers=partner["headers"])
    data = response.get_json()
    assert_response("/registry/sync/search", data)
    codes = [i.get("status_reason_code") for i in data["message"]["search_response"]]
    assert codes == [
        "rjct.pagination.invalid",
        "rjct.pagination.invalid",
        "rjct.timestamp.invalid",
        None,
        "rjct.reference_id.duplicate",
        "rjct.sort.invalid",
        "rjct.search_criteria.invalid",
    ]


def test_too_many_records_is_a_rejection(app, client, partner, people):
    app.config["DCI_MAX_RECORDS"] = 1
    try:
        predicate = [{"expression1": {"attribute_name": "age", "operator": "ge", "attribute_value": "0"}}]
        data = _sync(client, partner, search_body(search_item("predicate", predicate)))
    finally:
        del app.config["DCI_MAX_RECORDS"]
    assert data["message"]["search_response"][0]["status_reason_code"] == "rjct.search.too_many_records_found"


def test_async_search_acks_then_calls_back_once(app, client, partner, people, callbacks):
    body = search_body(
        search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}),
        sender_uri=callbacks.base + "dci/on-search",
    )
    assert_request("/registry/search", body)
    response = client.post("/dci/registry/search", json=body, headers=partner["headers"])
    assert response.status_code == 202
    ack = response.get_json()
    assert_response("/registry/search", ack)
    assert ack["message"]["ack_status"] == "ACK"
    # The same message again is a replay: the same answer, no second search, no second callback.
    again = client.post("/dci/registry/search", json=body, headers=partner["headers"]).get_json()
    assert again["message"]["correlation_id"] == ack["message"]["correlation_id"]
    run_jobs()
    callbacks.wait(1)
    (call,) = callbacks.calls
    assert call["path"] == "/dci/on-search"
    assert_request("/registry/on-search", call["body"])
    message = call["body"]["message"]
    assert message["correlation_id"] == ack["message"]["correlation_id"]
    assert _ids(message["search_response"][0]["data"]["reg_records"]) == [people["siti"]]
    key = signing.load_public_key(client.get("/.well-known/jwks.json").get_json()["keys"][0]["x"])
    assert signing.verify(call["body"]["signature"], call["body"]["header"], message, key).ok
    with app.app_context():
        (row,) = db.session.scalars(select(DciOutbox)).all()
        assert row.status == "done" and row.message is None and row.header is None  # no personal data kept
        (tx,) = db.session.scalars(select(DciTransaction)).all()
        assert tx.status == "succ" and tx.request is None
        assert db.session.query(AuditEntry).filter_by(action="dci.record_shared").count() == 1


def test_async_search_without_sender_uri_uses_the_registered_base(client, partner, people, callbacks):
    body = search_body(search_item("idtype-value", {"type": "NIK", "value": people["siti_nik"]}))
    assert client.post("/dci/registry/search", json=body, headers=partner["headers"]).status_code == 202
    run_jobs()
    callbacks.wait(1)
    assert [c["path"] for c in callbacks.calls] == ["/registry/on-search"]


def test_a_callback_address_outside_the_partners_bases_is_refused(client, partner, people):
    for uri in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:1/elsewhere", "ftp://x/"):
        body = search_body(search_item("idtype-value", {"type": "NIK", "value": "1"}), sender_uri=uri)
        response = client.post("/dci/registry/search", json=body, headers=partner["headers"])
        assert response.status_code == 400
        assert response.get_json()["message"]["error"]["code"] == "err.sender_uri.invalid"
