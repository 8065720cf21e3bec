"""Who may draft which programme's rules, publishing the revision reviewed, and trees too deep or too big."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from srs.extensions import db
from srs.programmes import rules
from srs.programmes.models import Programme, RuleVersion
from tests.programmes.test_rules_admin import editor_form, prakerja

AGE_RULE = {"all": [{"field": "age", "op": "between", "value": [17, 70]}]}


def _ids(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return dict(db.session.execute(select(Programme.code, Programme.id)).all())


def _draft(app, programme_id: int) -> RuleVersion | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(
            select(RuleVersion).where(RuleVersion.programme_id == programme_id, RuleVersion.status == "draft")
        )


# ------------------------------------------------------------------ a supervisor's countries


def test_a_supervisor_drafts_only_for_the_countries_they_cover(app, login_as):
    prakerja(app)
    ids = _ids(app)
    supervisor = login_as("supervisor")  # supervisor.id: the province of Jawa Timur, Indonesia
    assert (
        supervisor.post(
            f"/admin/programmes/{ids['ID-PRAKERJA']}/rules", data=editor_form("17", "70")
        ).status_code
        == 302
    )
    assert _draft(app, ids["ID-PRAKERJA"]) is not None
    vn = ids["VN-BHXH-TN"]
    assert supervisor.get(f"/admin/programmes/{vn}/rules").status_code == 403
    assert supervisor.post(f"/admin/programmes/{vn}/rules", data=editor_form("17", "70")).status_code == 403
    assert _draft(app, vn) is None
    # The history stays readable; the list offers the editor only where they may use it.
    assert supervisor.get(f"/admin/programmes/{vn}/history").status_code == 200
    listing = supervisor.get("/admin/programmes").get_data(as_text=True)
    assert f"/admin/programmes/{ids['ID-PRAKERJA']}/rules" in listing
    assert f"/admin/programmes/{vn}/rules" not in listing
    admin_listing = login_as("admin").get("/admin/programmes").get_data(as_text=True)
    assert f"/admin/programmes/{vn}/rules" in admin_listing


@pytest.mark.parametrize("role", ["officer", "agency_staff"])
def test_other_roles_draft_nothing(app, login_as, role):
    prakerja(app)
    programme_id = _ids(app)["ID-PRAKERJA"]
    browser = login_as(role)
    assert (
        browser.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("17", "70")).status_code
        == 403
    )
    assert _draft(app, programme_id) is None


def test_the_api_applies_the_same_rule(app, client, api_token):
    prakerja(app)
    supervisor, admin = api_token("supervisor"), api_token("admin")
    saved = client.put(
        "/api/v1/programmes/ID-PRAKERJA/draft", json={"criteria": AGE_RULE}, headers=supervisor
    )
    assert saved.status_code == 200 and saved.get_json()["revision"] == 1
    refused = client.put(
        "/api/v1/programmes/VN-BHXH-TN/draft", json={"criteria": AGE_RULE}, headers=supervisor
    )
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "VN" in refused.get_json()["detail"]
    assert client.get("/api/v1/programmes/VN-BHXH-TN/draft", headers=supervisor).status_code == 403
    assert (
        client.put(
            "/api/v1/programmes/VN-BHXH-TN/draft", json={"criteria": AGE_RULE}, headers=admin
        ).status_code
        == 200
    )
    for role in ("officer", "agency_staff"):
        assert (
            client.put(
                "/api/v1/programmes/ID-PRAKERJA/draft", json={"criteria": AGE_RULE}, headers=api_token(role)
            ).status_code
            == 403
        )
    assert (
        client.put("/api/v1/programmes/NO-SUCH/draft", json={"criteria": AGE_RULE}, headers=admin).status_code
        == 404
    )
    assert client.put("/api/v1/programmes/ID-PRAKERJA/draft", json={"criteria": AGE_RULE}).status_code == 401
    # Only admins publish.
    assert (
        client.post(
            "/api/v1/programmes/ID-PRAKERJA/draft/publish", json={"revision": 1}, headers=supervisor
        ).status_code
        == 403
    )


# ------------------------------------------------------------------ publishing the revision reviewed


def test_publishing_a_draft_changed_since_it_was_reviewed_is_409(app, login_as):
    prakerja(app)
    programme_id = _ids(app)["ID-PRAKERJA"]
    admin, supervisor = login_as("admin"), login_as("supervisor")
    admin.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("17", "70"))
    page = admin.get(f"/admin/programmes/{programme_id}/rules").get_data(as_text=True)
    assert 'name="revision" value="1"' in page  # what the admin reviews
    # Meanwhile the supervisor widens the draft again.
    supervisor.post(f"/admin/programmes/{programme_id}/rules", data=editor_form("15", "80"))
    draft = _draft(app, programme_id)
    assert draft.revision == 2
    stale = admin.post(
        f"/admin/programmes/{programme_id}/versions/{draft.id}/publish", data={"revision": "1"}
    )
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "The draft changed since you reviewed it" in html and "revision 2" in html
    with app.app_context():
        assert db.session.get(Programme, programme_id).current_version.number == 1
    missing = admin.post(f"/admin/programmes/{programme_id}/versions/{draft.id}/publish", data={})
    assert missing.status_code == 422
    fresh = admin.post(
        f"/admin/programmes/{programme_id}/versions/{draft.id}/publish", data={"revision": "2"}
    )
    assert fresh.status_code == 302
    with app.app_context():
        programme = db.session.get(Programme, programme_id)
        assert programme.current_version.number == 2
        assert programme.current_version.criteria["all"][0]["value"] == [15, 80]


def test_the_api_publishes_the_revision_named(app, client, api_token):
    prakerja(app)
    admin = api_token("admin")
    client.put("/api/v1/programmes/ID-PRAKERJA/draft", json={"criteria": AGE_RULE}, headers=admin)
    second = client.put(
        "/api/v1/programmes/ID-PRAKERJA/draft", json={"criteria": AGE_RULE, "note": "again"}, headers=admin
    )
    assert second.get_json()["revision"] == 2
    stale = client.post("/api/v1/programmes/ID-PRAKERJA/draft/publish", json={"revision": 1}, headers=admin)
    assert stale.status_code == 409 and "revision 2" in stale.get_json()["detail"]
    for bad in ({}, {"revision": "two"}, {"revision": True}):
        response = client.post("/api/v1/programmes/ID-PRAKERJA/draft/publish", json=bad, headers=admin)
        assert response.status_code == 422 and "revision" in response.get_json()["errors"]
    done = client.post("/api/v1/programmes/ID-PRAKERJA/draft/publish", json={"revision": 2}, headers=admin)
    assert done.status_code == 200 and done.get_json()["status"] == "published"
    assert client.get("/api/v1/programmes/ID-PRAKERJA/draft", headers=admin).status_code == 404
    again = client.post("/api/v1/programmes/ID-PRAKERJA/draft/publish", json={"revision": 2}, headers=admin)
    assert again.status_code == 404  # no draft any more


# ------------------------------------------------------------------ trees too deep or too big


def _chain(depth: int, kind: str = "not") -> dict:
    node: dict = {"field": "age", "op": ">=", "value": 18}
    for _i in range(depth):
        node = {"not": node} if kind == "not" else {"any": [node]}
    return node


def test_a_hostile_tree_gives_messages_not_a_recursion_error():
    assert rules.shape_errors(_chain(rules.MAX_DEPTH)) == []
    [(path, message)] = rules.shape_errors(_chain(rules.MAX_DEPTH + 1))
    assert "nested too deeply (at most 12 levels)" in message and path.count(".") == rules.MAX_DEPTH + 1
    deep = _chain(50_000)  # far past Python's recursion limit
    with pytest.raises(rules.RuleError, match="nested too deeply"):
        rules.check(deep)
    wide = {"all": [{"field": "age", "op": ">=", "value": 18}] * (rules.MAX_NODES + 1)}
    with pytest.raises(rules.RuleError, match="too many criteria"):
        rules.check(wide)


def test_the_api_refuses_a_deep_or_huge_tree_with_422(app, client, api_token):
    prakerja(app)
    admin = api_token("admin")
    for tree, message in (
        (_chain(400), "nested too deeply"),
        (_chain(20, "any"), "nested too deeply"),
        ({"all": [{"field": "age", "op": ">=", "value": 18}] * 400}, "too many criteria"),
    ):
        response = client.put("/api/v1/programmes/ID-PRAKERJA/draft", json={"criteria": tree}, headers=admin)
        assert response.status_code == 422, response.get_json()
        assert any(message in m for ms in response.get_json()["errors"].values() for m in ms)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(RuleVersion).where(RuleVersion.status == "draft")
            )
            == 0
        )


def test_the_editor_refuses_a_tree_nested_past_the_limit(app, login_as):
    prakerja(app)
    programme_id = _ids(app)["ID-PRAKERJA"]
    form = {"k-r": "all", "note": "", "source": "", "action": "save"}
    path = "r"
    for _i in range(600):  # fields posted far below what the editor offers
        path += ".0"
        form[f"k-{path}"] = "any"
    form.update({f"k-{path}.0": "leaf", f"f-{path}.0": "age", f"o-{path}.0": ">=", f"v-{path}.0": "18"})
    for role in ("admin", "supervisor"):
        response = login_as(role).post(f"/admin/programmes/{programme_id}/rules", data=form)
        assert response.status_code == 422
        assert "nested too deeply (at most 12 levels)" in response.get_data(as_text=True)
    assert _draft(app, programme_id) is None


def test_a_yaml_catalogue_nested_without_end_is_an_error_not_a_crash(app, login_as):
    import io

    prakerja(app)
    text = "agencies: " + "[" * 5000 + "]" * 5000 + "\nprogrammes: []\n"
    response = login_as("admin").post(
        "/admin/catalogue/import",
        data={"file": (io.BytesIO(text.encode()), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
