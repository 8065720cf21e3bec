"""Erasure by anonymisation: what goes, what stays (every dashboard figure), refusals, all or nothing."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from srs.cases.models import Case, CaseNote
from srs.core import clock
from srs.core.idempotency import IdempotencyKey
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.privacy import erasure
from srs.privacy.legal import seed_legal_periods
from srs.privacy.models import DataSubjectRequest, Erasure
from srs.programmes.models import Enrolment
from srs.referrals.models import OutboxMessage
from srs.registry.models import Client, DuplicateCandidate, Household, HouseholdMember
from srs.reports import facts
from srs.reports.models import CoverageFact, ReferralFact, ScreeningFact
from srs.reports.sdg import import_population
from tests.conftest import csrf_token_from
from tests.factories import (
    add_household,
    agency,
    make_client,
    make_programme,
    make_referral,
    make_screening,
    user,
)
from tests.reports.data import build_world

# As query-string values ("+" written %2B).
AGE_GROUPS = ("0-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65%2B")
COVERAGE_AGES = ("0-14", "15-64", "65%2B")


def _pages(today: date) -> list[str]:
    """Every dashboard, coverage and SDG page or file, with every age group, a sex, a region and a
    past period (whose figures are taken on its last day, in another year)."""
    last_year = f"from={today.year - 1}-01-01&to={today.year - 1}-12-31"
    ages = [f"age_group={g}" for g in AGE_GROUPS]
    queries = ["", "sex=male", "region=35.16", last_year, *ages]
    queries += [f"{a}&{last_year}" for a in ages] + [f"{a}&sex=female&region=35.16" for a in ages[:3]]
    pages = [f"/reports/?{q}" for q in queries]
    pages += [f"/reports/summary.csv?{q}" for q in ("", *ages)]
    coverage = ["", last_year, "region=35.16", "age_group=15-24"]
    coverage += [f"cov_age={g}" for g in COVERAGE_AGES] + [f"cov_age={g}&{last_year}" for g in COVERAGE_AGES]
    pages += [f"/reports/coverage?{q}" for q in coverage]
    pages += [f"/reports/coverage.csv?{q}" for q in ("", last_year, *(f"cov_age={g}" for g in COVERAGE_AGES))]
    pages += [f"/reports/monthly?month={today.isoformat()[:7]}"]
    return pages


def _figures(client, api_headers, browser) -> dict[str, object]:
    """Every figure the dashboard, coverage, the SDG series and the summary API show (referral
    figures included), as text (tokens and nonces taken out)."""
    figures: dict[str, object] = {}
    today = clock.today()
    last_year = f"from={today.year - 1}-01-01&to={today.year - 1}-12-31"
    for query in ("", "?region=35.16", f"?{last_year}", "?region=35.16&programme=ID-BPJSTK-BPU"):
        for path in ("/api/v1/reports/summary", "/api/v1/reports/coverage.csv"):
            response = client.get(f"{path}{query}", headers=api_headers)
            assert response.status_code == 200, (path, query)
            figures[f"{path}{query}"] = response.get_json() or response.get_data(as_text=True)
    for page in _pages(today):
        response = browser.get(page)
        assert response.status_code == 200, page
        figures[page] = re.sub(r'(nonce|value|content)="[^"]*"', "", response.get_data(as_text=True))
    return figures


def _facts() -> list[tuple]:
    """Every report fact row, every column (the birth year included: the facts never held more)."""
    rows = []
    for model in (ScreeningFact, ReferralFact, CoverageFact):
        # The coverage rows' own ids are renumbered by each rebuild: the rest is what they say.
        columns = [c for c in model.__table__.c if not (model is CoverageFact and c.name == "id")]
        rows += [(model.__tablename__, *r) for r in db.session.execute(select(*columns).order_by(*columns))]
    summaries = []
    for table in facts.SUMMARY_TABLES:
        columns = list(table.__table__.c)
        found = db.session.execute(select(*columns).order_by(*columns)).all()
        summaries += [(table.__tablename__, *r) for r in found if r.referrals != 0]
    return rows + summaries


def _erasable_person(app):
    with app.app_context():
        programme = make_programme()
        person = make_client(
            full_name="Sri Wahyuni",
            id_type="nik",
            id_number="3516084512850001",
            phone="081234567890",
            address="Jl. Majapahit 1",
            date_of_birth=date(1985, 12, 5),
            extra={"note": "lives behind the market"},
        )
        other = make_client(full_name="Sri Wahyuni", date_of_birth=date(1985, 12, 5))
        db.session.add(
            DuplicateCandidate(client_id=other.id, other_client_id=person.id, reason="name_birth_district")
        )
        add_household(person, [{"relationship_to_head": "child", "sex": "male"}])
        db.session.add(
            HouseholdMember(
                household_id=person.household_id,
                client_id=person.id,
                full_name="Sri Wahyuni",
                relationship_to_head="head",
            )
        )
        make_screening(person, {programme: "eligible"})
        referral = make_referral(person, programme, "completed", decided_after_days=3, outcome="successful")
        referral.note = "Sri lives behind the market"
        referral.delivered_at = referral.created_at
        case = Case(client_id=person.id, region_id=person.region_id, status="closed", closed_at=clock.now())
        db.session.add(case)
        db.session.flush()
        db.session.add(
            CaseNote(case_id=case.id, body="Talked to Sri at home", author_id=user("officer.id1").id)
        )
        db.session.commit()
        return person.id, other.id, referral.id


def test_erasure_removes_identity_keeps_statistics_and_every_figure(app, client, demo, api_token, login_as):
    build_world(app)
    person_id, other_id, referral_id = _erasable_person(app)
    supervisor = api_token("supervisor")
    browser = login_as("supervisor")
    with app.app_context():
        facts_before = _facts()
    before = _figures(client, supervisor, browser)

    response = client.post(
        f"/api/v1/clients/{person_id}/erase", json={"note": "asked in person"}, headers=supervisor
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "anonymised"

    after = _figures(client, supervisor, browser)
    assert after == before
    with app.app_context():
        assert _facts() == facts_before
        person = db.session.get(Client, person_id)
        assert (person.full_name, person.id_number, person.phone, person.address) == ("", None, None, None)
        assert person.date_of_birth == date(1985, 7, 1) and person.sex == "female" and person.extra == {}
        assert person.household_id is None
        assert (
            db.session.scalar(select(func.count()).select_from(Household)) == 0
        )  # nobody else registered in it
        assert db.session.scalar(select(func.count()).select_from(DuplicateCandidate)) == 0
        assert db.session.scalar(select(CaseNote.body)) == ""
        assert db.session.get(Client, other_id).full_name == "Sri Wahyuni"  # the other record untouched
        # One notice to the agency that received the data, through each of its channels.
        notices = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.event.is_not(None))))
        assert {m.event for m in notices} == {"client.erasure_requested"}
        assert {m.referral_id for m in notices} == {referral_id}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "client.anonymise"))
        assert entry.details["agencies"] == [agency().code]
        assert "Sri" not in str(entry.details)

    body = client.get(f"/api/v1/clients/{person_id}", headers=supervisor).get_json()
    assert body["anonymised"] is True and body["birth_year"] == 1985
    assert body["sex"] == "female" and body["region_code"] == "35.16.08.2003"
    for name in ("full_name", "id_number", "phone", "address", "date_of_birth"):
        assert body[name] is None
    assert "Sri" not in client.get(f"/api/v1/referrals/{referral_id}", headers=supervisor).get_data(
        as_text=True
    )


# Frozen instants (local time, Asia/Jakarta): an ordinary day, the last minutes of a year, local New
# Year's night (still 31 December in UTC) and a leap day.
# The two hard instants: the local new year while UTC is still in the old one, and a leap day. (The
# whole suite also runs with the clock moved to 31 December, so an ordinary day is covered there.)
INSTANTS = (
    "2027-01-01T00:30:00+07:00",
    "2028-02-29T12:00:00+07:00",
)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _boundary_people(app) -> list[int]:
    """People turning 15 and 65 right around today (a day before, on the day, a day after, and a
    month either side, so some cross 1 July or 1 January), and two born on 29 February; each with a
    screening, a decided referral and an enrolment open (so every kind of figure counts them)."""
    today = clock.today()
    births = [
        _years_before(today, age) + timedelta(days=shift) for age in (15, 65) for shift in (-31, -1, 0, 1, 31)
    ]
    births += [date(2012, 2, 29), date(1960, 2, 29)]
    ids = []
    with app.app_context():
        seed_legal_periods()
        programme = make_programme()
        programme.functions = ["old_age", "children_family"]
        for n, born in enumerate(births):
            person = make_client(
                ("35.16.08.2003", "35.76.01.1007")[n % 2],
                full_name=f"Boundary {n}",
                sex=("female", "male")[n % 3 % 2],
                date_of_birth=born,
                work_status=("informal", "unemployed")[n % 2],
                disability=n % 4 == 0,
                created_at=clock.now() - timedelta(days=40 + n),
            )
            make_screening(person, {programme: "eligible"}, at=clock.now() - timedelta(days=30 + n))
            make_referral(
                person,
                programme,
                ("completed", "declined")[n % 2],
                created_at=clock.now() - timedelta(days=25 + n),
                decided_after_days=1 + n % 5,
                outcome="successful" if n % 2 == 0 else None,
            )
            db.session.add(
                Enrolment(client_id=person.id, programme_id=programme.id, start_on=today - timedelta(days=20))
            )
            ids.append(person.id)
        lines = ["district,sex,age_group,year,source,population,poor,births,disabled"]
        for year in (today.year - 1, today.year):
            for district in ("35.16", "35.76"):
                for sex in ("female", "male"):
                    for group in COVERAGE_AGES:
                        lines.append(
                            f"{district},{sex},{group.replace('%2B', '+')},{year},BPS {year},500,50,10,20"
                        )
        assert not import_population("\n".join(lines) + "\n").errors
        db.session.commit()
    return ids


@pytest.mark.parametrize("instant", INSTANTS)
def test_erasure_moves_no_figure_for_people_at_the_age_boundaries(
    app, client, demo, api_token, login_as, instant
):
    """Ages are reached during the calendar year (srs/reports/ages.py) and the facts keep the birth
    year, which erasure keeps: every figure, with every age filter, reads the same after."""
    with time_machine.travel(datetime.fromisoformat(instant), tick=False):
        build_world(app)
        people = _boundary_people(app)
        supervisor = api_token("supervisor")
        browser = login_as("supervisor")
        with app.app_context():
            facts_before = _facts()
        before = _figures(client, supervisor, browser)
        for person_id in people:
            response = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=supervisor)
            assert response.status_code == 200, response.get_json()
        with app.app_context():
            assert _facts() == facts_before
            erased = db.session.scalars(select(Client).where(Client.id.in_(people))).all()
            assert all(
                c.anonymised_at is not None and (c.date_of_birth.month, c.date_of_birth.day) == (7, 1)
                for c in erased
            )
        after = _figures(client, supervisor, browser)
        assert after.keys() == before.keys()
        for name, figure in before.items():
            assert after[name] == figure, name


def test_erasure_twice_gives_the_same_answer_and_changes_nothing(app, client, demo, api_token):
    person_id, _other, _ref = _erasable_person(app)
    headers = api_token("supervisor")
    first = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=headers)
    with app.app_context():
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
        notices = db.session.scalar(select(func.count()).where(OutboxMessage.event.is_not(None)))
    second = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.get_json()["status"] == "anonymised" and second.get_json()["repeated"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Erasure)) == 1
        assert db.session.scalar(select(func.count()).where(OutboxMessage.event.is_not(None))) == notices
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) >= entries


def test_refused_while_a_referral_or_case_is_open_or_on_hold(app, client, demo, api_token):
    headers = api_token("supervisor")
    with app.app_context():
        person = make_client(full_name="Open Referral")
        make_referral(person, make_programme(), "delivered")
        held = make_client(full_name="Held Person")
        db.session.commit()
        person_id, held_id = person.id, held.id
    response = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=headers)
    assert response.status_code == 409 and "open referral" in response.get_json()["detail"]

    assert client.post(f"/api/v1/clients/{held_id}/legal-hold", json={}, headers=headers).status_code == 422
    response = client.post(
        f"/api/v1/clients/{held_id}/legal-hold", json={"reason": "Court case 12/2026"}, headers=headers
    )
    assert response.status_code == 201 and response.get_json()["legal_hold"]["reason"] == "Court case 12/2026"
    response = client.post(f"/api/v1/clients/{held_id}/erase", json={}, headers=headers)
    assert response.status_code == 409 and "legal hold" in response.get_json()["detail"]
    assert client.delete(f"/api/v1/clients/{held_id}/legal-hold", headers=headers).status_code == 200
    assert client.post(f"/api/v1/clients/{held_id}/erase", json={}, headers=headers).status_code == 200
    with app.app_context():
        assert db.session.get(Client, person_id).full_name == "Open Referral"


def test_only_a_supervisor_may_erase_or_hold(app, client, demo, api_token):
    with app.app_context():
        person = make_client()
        db.session.commit()
        person_id = person.id
    for role in ("officer", "admin", "agency_staff"):
        assert (
            client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=api_token(role)).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/v1/clients/{person_id}/legal-hold", json={"reason": "x"}, headers=api_token(role)
            ).status_code
            == 403
        )
    # A supervisor of another country: the record is outside their scope.
    assert (
        client.post("/api/v1/clients/999999/erase", json={}, headers=api_token("supervisor")).status_code
        == 404
    )


def test_a_crash_half_way_rolls_everything_back(app, client, demo, api_token, monkeypatch):
    person_id, _other, _ref = _erasable_person(app)

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    # After the notes, the kept answers and the household have been dealt with: the last step fails.
    monkeypatch.setattr(erasure, "_notify_agencies", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.post(f"/api/v1/clients/{person_id}/erase", json={}, headers=api_token("supervisor"))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    with app.app_context():
        person = db.session.get(Client, person_id)
        assert person.full_name == "Sri Wahyuni" and person.anonymised_at is None
        assert person.household_id is not None
        assert db.session.scalar(select(CaseNote.body)) == "Talked to Sri at home"
        assert db.session.scalar(select(func.count()).select_from(DuplicateCandidate)) == 1
        assert db.session.scalar(select(func.count()).select_from(Erasure)) == 0


def test_kept_idempotent_answers_about_the_person_are_forgotten(app, client, demo, api_token):
    officer = api_token("officer")
    body = {
        "full_name": "Budi Santoso",
        "sex": "male",
        "date_of_birth": "1980-02-02",
        "region_code": "35.16.08.2003",
        "id_type": "none",
        "consent": {"given": True, "date": clock.today().isoformat(), "scope": "referrals"},
    }
    created = client.post("/api/v1/clients", json=body, headers={**officer, "Idempotency-Key": "reg-1"})
    assert created.status_code == 201, created.get_json()
    person_id = created.get_json()["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    assert (
        client.post(
            f"/api/v1/clients/{person_id}/erase", json={}, headers=api_token("supervisor")
        ).status_code
        == 200
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_erasure_is_linked_to_its_request(app, client, demo, api_token):
    with app.app_context():
        seed_legal_periods()
        person = make_client()
        other = make_client()
        db.session.commit()
        person_id, other_id = person.id, other.id
    headers = api_token("supervisor")
    made = client.post(
        f"/api/v1/clients/{person_id}/requests",
        json={"kind": "erasure", "received_via": "letter"},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    request_id = made.get_json()["id"]
    wrong = client.post(f"/api/v1/clients/{other_id}/erase", json={"request_id": request_id}, headers=headers)
    assert wrong.status_code == 422
    done = client.post(f"/api/v1/clients/{person_id}/erase", json={"request_id": request_id}, headers=headers)
    assert done.status_code == 200
    with app.app_context():
        request = db.session.get(DataSubjectRequest, request_id)
        assert request.served_by_kind == "erasure"


def test_erasure_from_the_profile_page(app, demo, login_as):
    person_id, _other, _ref = _erasable_person(app)
    browser = login_as("supervisor")
    page = browser.get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="erase"' in page
    response = browser.post(
        f"/privacy/clients/{person_id}/erase",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The record has been anonymised." in response.get_data(as_text=True)
    assert "Sri Wahyuni" not in response.get_data(as_text=True)
    # An officer sees no erase button and may not post it.
    officer = login_as("officer")
    page = officer.get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="erase"' not in page
    assert (
        officer.post(
            f"/privacy/clients/{person_id}/erase", data={"csrf_token": csrf_token_from(page)}
        ).status_code
        == 403
    )


def test_the_profile_says_why_erasure_is_refused(app, demo, login_as):
    with app.app_context():
        person = make_client(full_name="Open Referral")
        make_referral(person, make_programme(), "accepted")
        db.session.commit()
        person_id = person.id
    page = login_as("supervisor").get(f"/clients/{person_id}").get_data(as_text=True)
    assert 'data-testid="erasure-blockers"' in page and "open referral" in page
