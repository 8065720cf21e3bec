"""Rule versions, the editor, simulation, publishing with re-screening, and the YAML catalogue."""

from __future__ import annotations

import io
from datetime import date

import yaml
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from srs.core import clock
from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes.models import EligibilityNotice, Programme, RescreenRun, RuleVersion, Screening
from srs.programmes.seed import seed_catalogue
from tests.programmes.conftest import make_client


def _born(age: int) -> date:
    today = clock.today()
    return (
        date(today.year - age, 1, 1) if (today.month, today.day) != (1, 1) else date(today.year - age, 1, 1)
    )


def prakerja(app):
    """The seeded catalogue plus clients aged 17, 30 and 65 in two districts, and one out of scope."""
    with app.test_request_context():
        seed_catalogue("x")
        make_client(
            "35.16.08.2003", full_name="Ani Muda", sex="female", date_of_birth=_born(17), in_education=False
        )
        make_client(
            "35.16.12.2008", full_name="Budi Tengah", sex="male", date_of_birth=_born(30), in_education=False
        )
        make_client(
            "35.76.01.1007", full_name="Citra Tua", sex="female", date_of_birth=_born(65), in_education=False
        )
        make_client(
            "34.04.07.2001", full_name="Dedi Jogja", sex="male", date_of_birth=_born(65), in_education=False
        )
        programme_id = db.session.scalar(select(Programme.id).where(Programme.code == "ID-PRAKERJA"))
        commit()
    return programme_id


def editor_form(low: str, high: str, **extra: str) -> dict[str, str]:
    form = {
        "k-r": "all",
        "k-r.0": "leaf",
        "f-r.0": "age",
        "o-r.0": "between",
        "v-r.0": low,
        "w-r.0": high,
        "k-r.1": "leaf",
        "f-r.1": "in_education",
        "o-r.1": "=",
        "v-r.1": "no",
        "note": "Age limit raised",
        "source": "Permenko 2026 (test)",
        "action": "save",
    }
    form.update(extra)
    return form


def test_editor_refuses_bad_rules_and_the_version_in_force_stays(app, login_as):
    programme_id = prakerja(app)
    admin = login_as("admin")
    response = admin.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("eighteen", "64"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "age between needs two numbers (from and to): \u201ceighteen\u201d is not a number." in html
    assert 'value="eighteen"' in html  # what was typed is kept
    response = admin.post(
        f"/admin/programmes/{programme_id}/rules",
        data={
            "k-r": "all",
            "k-r.0": "leaf",
            "f-r.0": "salary",
            "o-r.0": "<",
            "v-r.0": "1",
            "k-r.1": "any",
            "action": "save",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown field \u201csalary\u201d." in html
    assert "This group is empty" in html
    with app.app_context():
        versions = db.session.scalars(
            select(RuleVersion).where(RuleVersion.programme_id == programme_id)
        ).all()
        assert [(v.number, v.status) for v in versions] == [(1, "published")]


def test_editor_buttons_add_and_remove_criteria_without_saving(app, login_as):
    programme_id = prakerja(app)
    admin = login_as("admin")
    html = admin.post(
        f"/admin/programmes/{programme_id}/rules", data=editor_form("18", "64", action="add_group:r")
    ).get_data(as_text=True)
    assert 'name="k-r.2"' in html and 'name="f-r.2.0"' in html
    html = admin.post(
        f"/admin/programmes/{programme_id}/rules", data=editor_form("18", "64", action="remove:r.1")
    ).get_data(as_text=True)
    assert 'name="f-r.1"' not in html and 'name="f-r.0"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RuleVersion)) == 9  # the seeded ones only


def test_draft_simulation_counts_by_district_and_sex_within_scope(app, login_as):
    programme_id = prakerja(app)
    admin = login_as("admin")
    response = admin.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("17", "70"))
    assert response.status_code == 302
    html = admin.get(f"/admin/programmes/{programme_id}/rules").get_data(as_text=True)
    assert "Simulation of draft version 2" in html
    with app.test_request_context():
        from srs.accounts.models import User
        from srs.programmes.simulation import simulate
        from srs.programmes.versions import draft_of, save_draft

        programme = db.session.get(Programme, programme_id)
        draft = draft_of(programme)
        everyone = simulate(draft, db.session.scalar(select(User).where(User.username == "admin")))
        assert everyone["totals"]["became"] == 3  # Ani (17), Citra (65), Dedi (65)
        assert everyone["totals"]["stopped"] == 0
        assert everyone["samples"]["became"] == ["Ani Muda", "Citra Tua", "Dedi Jogja"]
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor.id"))
        scoped = simulate(draft, supervisor)  # province 35 only: not Dedi in Yogyakarta
        assert scoped["totals"]["became"] == 2
        rows = {d["district"]: d for d in scoped["districts"]}
        assert rows["Kabupaten Mojokerto"]["became"] == {"female": 1, "male": 0}
        assert rows["Kota Mojokerto"]["became"] == {"female": 1, "male": 0}
        assert rows["Kabupaten Mojokerto"]["eligible_after"] == 2
        narrower = save_draft(
            programme, {"all": [{"field": "age", "op": "between", "value": [18, 25]}]}, None
        )
        assert simulate(narrower, supervisor)["totals"]["stopped"] == 1  # Budi (30)
        commit()
    supervisor_page = (
        login_as("supervisor").get(f"/admin/programmes/{programme_id}/rules").get_data(as_text=True)
    )
    assert "Would stop being eligible" in supervisor_page and "Budi Tengah" in supervisor_page


def test_publish_keeps_history_and_rescreens_with_a_real_worker(app, login_as):
    programme_id = prakerja(app)
    admin = login_as("admin")
    admin.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("17", "70"))
    with app.app_context():
        draft_id = db.session.scalar(select(RuleVersion.id).where(RuleVersion.status == "draft"))
    response = admin.post(f"/admin/programmes/{programme_id}/versions/{draft_id}/publish")
    assert response.status_code == 302 and "/admin/rescreens/" in response.headers["Location"]
    run_page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "<progress" in run_page
    status_url = response.headers["Location"] + "/status"
    assert admin.get(status_url).get_json()["status"] == "queued"
    with app.app_context():
        SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)
    status = admin.get(status_url).get_json()
    assert status == {**status, "status": "done", "total": 3, "done": 3, "newly_eligible": 3}
    with app.app_context():
        programme = db.session.get(Programme, programme_id)
        versions = {
            v.number: v.status
            for v in db.session.scalars(select(RuleVersion).where(RuleVersion.programme_id == programme_id))
        }
        assert versions == {1: "superseded", 2: "published"}
        assert programme.current_version.number == 2
        assert (
            db.session.scalar(
                select(func.count()).select_from(Screening).where(Screening.trigger == "rescreen")
            )
            == 3
        )
        results = db.session.scalars(select(Screening)).first().results
        assert {r.rule_version.number for r in results if r.programme_id == programme_id} == {2}
        assert db.session.scalar(select(func.count()).select_from(EligibilityNotice)) == 3
    # Running the job again does nothing more.
    with app.app_context():
        run_id = db.session.scalar(select(RescreenRun.id))
        from srs.programmes.jobs import rescreen

        assert rescreen(run_id) == {"screened": 0}
    officer = login_as("officer")
    home = officer.get("/").get_data(as_text=True)
    assert "Newly eligible" in home and "Ani Muda" in home and "Citra Tua" not in home
    with app.app_context():
        from srs.registry.models import Client

        ani_notice = db.session.scalar(
            select(EligibilityNotice.id)
            .join(Client, Client.id == EligibilityNotice.client_id)
            .where(Client.full_name == "Ani Muda")
        )
    assert login_as("officer2").post(f"/eligibility-notices/{ani_notice}/dismiss").status_code == 404
    assert officer.post(f"/eligibility-notices/{ani_notice}/dismiss").status_code == 302
    assert "Ani Muda" not in officer.get("/").get_data(as_text=True)
    history = admin.get(f"/admin/programmes/{programme_id}/history").get_data(as_text=True)
    assert "Admin SRS" in history and "age between 17,70" in history and "age between 18,64" in history
    assert "Age limit raised" in history


def test_discard_keeps_the_version_in_force(app, login_as):
    programme_id = prakerja(app)
    admin = login_as("admin")
    admin.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("17", "70"))
    with app.app_context():
        draft_id = db.session.scalar(select(RuleVersion.id).where(RuleVersion.status == "draft"))
    assert (
        login_as("supervisor")
        .post(f"/admin/programmes/{programme_id}/versions/{draft_id}/publish")
        .status_code
        == 403
    )
    assert admin.post(f"/admin/programmes/{programme_id}/versions/{draft_id}/discard").status_code == 302
    with app.app_context():
        assert db.session.get(RuleVersion, draft_id).status == "discarded"
        assert db.session.get(Programme, programme_id).current_version.number == 1
    assert admin.post(f"/admin/programmes/{programme_id}/versions/{draft_id}/publish").status_code == 409


def test_yaml_round_trip(app, login_as):
    prakerja(app)
    admin = login_as("admin")
    exported = admin.get("/admin/catalogue.yaml").get_data(as_text=True)
    data = yaml.safe_load(exported)
    assert len(data["programmes"]) == 9 and len(data["agencies"]) == 7
    assert all("webhook_secret" not in a for a in data["agencies"])
    prakerja_spec = next(p for p in data["programmes"] if p["code"] == "ID-PRAKERJA")
    prakerja_spec["rule"]["criteria"]["all"][0]["value"] = [18, 70]
    data["programmes"].append({**prakerja_spec, "code": "ID-NEW", "names": {"en": "New programme"}})
    upload = yaml.safe_dump(data, allow_unicode=True)
    response = admin.post(
        "/admin/catalogue/import",
        data={"file": (io.BytesIO(upload.encode()), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Programme)) == 10
        prak = db.session.scalar(select(Programme).where(Programme.code == "ID-PRAKERJA"))
        assert prak.current_version.number == 2
        assert prak.current_version.criteria["all"][0]["value"] == [18, 70]
    again = yaml.safe_load(admin.get("/admin/catalogue.yaml").get_data(as_text=True))
    assert {p["code"]: p["rule"]["criteria"] for p in again["programmes"]} == {
        p["code"]: p["rule"]["criteria"] for p in data["programmes"]
    }


def test_yaml_import_with_errors_changes_nothing_and_lists_every_error(app, login_as):
    prakerja(app)
    admin = login_as("admin")
    data = yaml.safe_load(admin.get("/admin/catalogue.yaml").get_data(as_text=True))
    data["agencies"][0]["name"] = "Renamed agency"
    data["agencies"][1]["channel"] = "pigeon"
    data["programmes"][0]["rule"]["criteria"] = {"all": []}
    data["programmes"][1]["rule"]["criteria"] = {
        "all": [{"field": "monthly_income", "op": "<", "value": "a lot"}]
    }
    data["programmes"][2]["agency"] = "NOPE"
    response = admin.post(
        "/admin/catalogue/import",
        data={"file": (io.BytesIO(yaml.safe_dump(data).encode()), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html
    assert "agencies[1].channel" in html
    assert "This group is empty" in html
    assert "\u201ca lot\u201d is not a number" in html
    assert "No agency has the code NOPE" in html
    with app.app_context():
        from srs.agencies.models import Agency

        assert (
            db.session.scalar(select(func.count()).select_from(Agency).where(Agency.name == "Renamed agency"))
            == 0
        )
        assert db.session.scalar(select(func.count()).select_from(RuleVersion)) == 9
