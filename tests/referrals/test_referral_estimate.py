"""The estimate the person was shown travels with the referral: kept on it (with its rate version) when
it is made, and given to the agency (webhook, e-mail, SRS inbox), on the referral page and in the letter."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
from sqlalchemy import select

from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import Programme, RateVersion
from srs.programmes.screening import screen
from srs.programmes.seed import seed_catalogue, seed_rates
from srs.referrals import messages
from srs.referrals.models import Referral
from srs.registry import consent
from srs.registry.models import Client
from tests.factories import make_client, refer, user


def resolved(schema: Any, document: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` to a component replaced by the component."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return resolved(document["components"]["schemas"][name], document)
        return {k: resolved(v, document) for k, v in schema.items()}
    if isinstance(schema, list):
        return [resolved(v, document) for v in schema]
    return schema


def vn_referral(app: Any) -> int:  # needs the demo fixture
    """A near-poor informal worker in Ha Noi, screened (VND 1,500,000 a month), then referred to
    voluntary social insurance: 22% of 1,500,000 = 330,000; the state pays 40% = 132,000 plus Ha Noi's
    top-up; the estimate shown says so."""
    with app.test_request_context():
        seed_catalogue("x")
        seed_rates("x")
        person = make_client(
            "00070",
            full_name="Nguyễn Thị Lan",
            date_of_birth=date(1990, 3, 1),
            work_status="informal",
            monthly_income=1_500_000,
            poverty_status="near_poor",
            enrolments=[],
        )
        screen(person, user("officer.vn1"))
        programme = db.session.scalar(select(Programme).where(Programme.code == "VN-BHXH-TN"))
        referral = refer(person, programme, by="officer.vn1")
        commit()
        return referral.id


def test_the_referral_keeps_the_estimate_shown_with_its_rate_version(app: Any, demo: Any) -> None:
    referral_id = vn_referral(app)
    with app.test_request_context():
        referral = db.session.get_one(Referral, referral_id)
        kept = referral.estimate
        assert kept is not None
        assert kept["contribution"] == 330_000  # 22% of 1,500,000
        assert kept["client_pays"] == 148_500  # the letter's figure (near-poor 40% + Ha Noi's top-up)
        in_force = db.session.scalars(
            select(RateVersion)
            .where(RateVersion.programme_id == referral.programme_id, RateVersion.status == "published")
            .order_by(RateVersion.effective_from.desc(), RateVersion.number.desc())
        ).first()
        assert in_force is not None and kept["rate_version"] == in_force.number
        assert kept["effective_from"] == in_force.effective_from.isoformat()
        assert kept["screening_id"] == referral.screening_id or kept["screening_id"] is not None
        # A later rate version and a later screening do not rewrite what the referral says.
        in_force.params = {**in_force.params, "percent": 30}
        screen(db.session.get_one(Client, referral.client_id), user("officer.vn1"))
        commit()
        assert db.session.get_one(Referral, referral_id).estimate == kept


def test_the_webhook_payload_carries_it_and_matches_the_openapi_document(
    app: Any, demo: Any, client: Any
) -> None:
    referral_id = vn_referral(app)
    document = client.get("/api/v1/openapi.json").get_json()
    schema = resolved(document["components"]["schemas"]["ReferralDelivered"], document)
    assert "referral.delivered" in document["webhooks"]
    with app.test_request_context():
        referral = db.session.get_one(Referral, referral_id)
        body = {"event": "referral.delivered", "referral": messages.webhook_referral(referral)}
        jsonschema.validate(body, schema)
        estimate = body["referral"]["estimate"]
        assert estimate["contribution"] == 330_000 and estimate["client_pays"] == 148_500
        assert estimate["currency"] == "VND" and estimate["rate_version"] == referral.estimate["rate_version"]
        # Sentences in the language of the agency's country (Vietnamese digit grouping).
        assert any("1.500.000" in sentence for sentence in estimate["explanation"])


def test_the_email_gives_the_figures_and_withholds_them_without_consent(app: Any, demo: Any) -> None:
    referral_id = vn_referral(app)
    with app.test_request_context():
        referral = db.session.get_one(Referral, referral_id)
        programme = db.session.get_one(Programme, referral.programme_id)
        _subject, text = messages.mail_text("email", referral, programme, programme.agency)
        assert "the state pays" in text and "the person pays 148,500" in text
        assert "22% of 1,500,000 = 330,000 a month." in text
        consent.withdraw(db.session.get_one(Client, referral.client_id), user("officer.vn1"), "asked")
        commit()
        assert messages.estimate_lines(db.session.get_one(Referral, referral_id)) == []
        payload = messages.webhook_referral(db.session.get_one(Referral, referral_id))
        assert payload["estimate"] is None and payload["client"] is None


def test_the_api_page_and_inbox_show_it(app: Any, client: Any, api_token: Any, login_as: Any) -> None:
    referral_id = vn_referral(app)
    document = client.get("/api/v1/openapi.json").get_json()
    schema = resolved(document["components"]["schemas"]["Referral"], document)
    for role in ("officer_vn", "agency_vn"):
        headers = api_token(role)
        if role == "agency_vn":
            with app.test_request_context():
                from srs.referrals.services import mark_delivered

                mark_delivered(db.session.get_one(Referral, referral_id))
                commit()
        data = client.get(f"/api/v1/referrals/{referral_id}", headers=headers).get_json()
        jsonschema.validate(data, schema)
        assert data["estimate"]["client_pays"] == 148_500, role
        listed = client.get("/api/v1/referrals", headers=headers).get_json()["items"]
        assert listed[0]["estimate"]["contribution"] == 330_000
    for role in ("officer_vn", "agency_vn"):
        page = login_as(role).get(f"/referrals/{referral_id}?lang=en").get_data(as_text=True)
        assert 'data-testid="referral-estimate"' in page, role
        assert "the person pays 148,500" in page
