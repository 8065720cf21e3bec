"""Enrolments: recorded at registration, on the profile and from a successful referral; the list of
codes and the rows kept consistent; the profile's coverage and gaps; audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select

from srs.core import clock
from srs.core.errors import ValidationFailed
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.programmes import enrolments, services
from srs.programmes.models import Enrolment, Programme
from srs.referrals import services as referral_services
from srs.registry.models import Client
from tests.cases.conftest import acting_as
from tests.conftest import csrf_token_from
from tests.factories import make_client, make_programme, make_referral, user


def _programmes() -> tuple[Programme, Programme]:
    pkh = make_programme("ID-PKH", "KEMENSOS", kind="social_assistance")
    pkh.functions = ["children_family", "social_assistance"]
    bpu = make_programme("ID-BPJSTK-BPU", "BPJSTK")
    bpu.functions = ["employment_injury", "survivors"]
    bpu.contributory = True
    db.session.flush()
    return pkh, bpu


def _rows(client: Client) -> list[Enrolment]:
    return list(
        db.session.scalars(select(Enrolment).where(Enrolment.client_id == client.id).order_by(Enrolment.id))
    )


def _audits(action: str, client: Client) -> int:
    return len(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == str(client.id))
        ).all()
    )


def test_the_list_of_codes_opens_and_ends_enrolments(app, demo):
    with acting_as(app, "officer.id1"):
        _programmes()
        c = make_client(enrolments=["ID-PKH", "OTHER-SCHEME"])
        cid = c.id
    with acting_as(app, "officer.id1"):
        c = db.session.get(Client, cid)
        [row] = _rows(c)
        assert row.programme.code == "ID-PKH" and row.source == "registration"
        assert row.start_on == clock.today() and row.end_on is None
        assert _audits("enrolment.record", c) == 1
        # The profile takes it away and adds another: one ended, one opened.
        c.enrolments = ["ID-BPJSTK-BPU", "OTHER-SCHEME"]
    with acting_as(app, "officer.id1"):
        c = db.session.get(Client, cid)
        first, second = _rows(c)
        assert first.end_on == clock.today()
        assert second.programme.code == "ID-BPJSTK-BPU" and second.source == "profile"
        assert _audits("enrolment.end", c) == 1


def test_recording_on_the_profile_keeps_the_list(app, demo):
    with acting_as(app, "officer.id1") as officer:
        pkh, _bpu = _programmes()
        c = make_client(enrolments=["OTHER-SCHEME"])
        e = enrolments.record_enrolment(c, pkh, clock.today() - timedelta(days=30), user=officer)
        assert sorted(c.enrolments) == ["ID-PKH", "OTHER-SCHEME"]
        with pytest.raises(ValidationFailed) as exc:
            enrolments.record_enrolment(c, pkh, clock.today() - timedelta(days=3), user=officer)
        assert "start_on" in exc.value.errors  # already enrolled that day
        with pytest.raises(ValidationFailed) as exc:
            enrolments.record_enrolment(
                c, pkh, clock.today() - timedelta(days=3), clock.today() - timedelta(days=9), user=officer
            )
        assert "end_on" in exc.value.errors
        with pytest.raises(ValidationFailed) as exc:
            enrolments.record_enrolment(c, None, clock.today(), user=officer)
        assert "programme" in exc.value.errors
        enrolments.end_enrolment(e, clock.today() - timedelta(days=1), user=officer)
        assert c.enrolments == ["OTHER-SCHEME"]
        assert len(_rows(c)) == 1  # ending did not open another through the list
        assert _audits("enrolment.record", c) == 1 and _audits("enrolment.end", c) == 1


def test_a_successful_referral_enrols_and_an_unsuccessful_one_does_not(app, demo):
    with acting_as(app, "agency.bpjstk") as staff:
        _pkh, bpu = _programmes()
        good = make_client()
        bad = make_client()
        for c, outcome in ((good, "successful"), (bad, "unsuccessful")):
            r = make_referral(c, bpu, "accepted")
            referral_services.apply_action(r, referral_services.Action("complete", outcome=outcome), staff)
        [row] = _rows(good)
        assert row.source == "referral" and row.referral_id is not None and row.start_on == clock.today()
        assert good.enrolments == ["ID-BPJSTK-BPU"]
        assert _rows(bad) == []


def test_profile_shows_coverage_and_gaps_and_records(app, demo, login_as):
    with acting_as(app, "officer.id1"):
        pkh, _bpu = _programmes()
        cid = make_client(enrolments=["ID-PKH"]).id
    web = login_as("officer")
    page = web.get(f"/clients/{cid}").get_data(as_text=True)
    assert 'data-testid="coverage-panel"' in page
    assert "gap" in page and "Children and family" in page
    token = csrf_token_from(page)
    response = web.post(
        f"/clients/{cid}/enrolments",
        data={"csrf_token": token, "programme": "ID-BPJSTK-BPU", "start_on": clock.today().isoformat()},
    )
    assert response.status_code == 302
    # A start after the end: a message, nothing recorded, never a 500.
    response = web.post(
        f"/clients/{cid}/enrolments",
        data={
            "csrf_token": token,
            "programme": "ID-PKH",
            "start_on": (clock.today() - timedelta(days=2)).isoformat(),
            "end_on": (clock.today() - timedelta(days=5)).isoformat(),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200 and "The end date is before the start date." in response.get_data(
        as_text=True
    )
    with app.app_context():
        codes = sorted(e.programme.code for e in db.session.scalars(select(Enrolment)))
        assert codes == ["ID-BPJSTK-BPU", "ID-PKH"]
        coverage = enrolments.coverage_of(db.session.get(Client, cid))
        assert "employment_injury" in coverage.covered and "old_age" in coverage.gaps
    # Another district's officer cannot record for this client.
    other = login_as("officer_vn")
    response = other.post(
        f"/clients/{cid}/enrolments",
        data={"csrf_token": token, "programme": "ID-PKH", "start_on": clock.today().isoformat()},
    )
    assert response.status_code in (400, 404)


def test_functions_in_the_catalogue_yaml_form_and_api(app, demo, login_as, api_token, client):
    with acting_as(app, "admin"):
        _programmes()
        text = services.export_yaml()
        entry = next(p for p in yaml.safe_load(text)["programmes"] if p["code"] == "ID-BPJSTK-BPU")
        assert entry["functions"] == ["employment_injury", "survivors"] and entry["contributory"] is True
        entry.pop("rule")  # the factory's empty rule is not one a file may carry
        entry["functions"] = ["old_age", "nonsense"]
        report = services.import_yaml(yaml.safe_dump({"programmes": [entry]}), user("admin"))
        assert any("nonsense" in e for e in report.errors)
        entry["functions"] = ["old_age"]
        report = services.import_yaml(yaml.safe_dump({"programmes": [entry]}), user("admin"))
        assert report.errors == []
        assert services.get_programme_by_code("ID-BPJSTK-BPU").functions == ["old_age"]
        pid = services.get_programme_by_code("ID-PKH").id
    web = login_as("admin")
    page = web.get(f"/admin/programmes/{pid}").get_data(as_text=True)
    assert 'name="functions"' in page and 'name="contributory"' in page
    body = client.get("/api/v1/programmes", headers=api_token("officer")).get_json()
    pkh = next(p for p in body["items"] if p["code"] == "ID-PKH")
    assert pkh["functions"] == ["children_family", "social_assistance"] and pkh["contributory"] is False
