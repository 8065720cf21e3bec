"""Admins create, edit, deactivate users and reset passwords."""

from sqlalchemy import select

from srs.accounts.models import User
from srs.extensions import db
from tests.conftest import login


def _user(app, username):
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def test_admin_creates_an_officer_who_can_sign_in(app, login_as):
    admin = login_as("admin")
    response = admin.post(
        "/admin/users/new",
        data={
            "username": "officer.new",
            "full_name": "Rina Putri",
            "email": "rina@example.org",
            "role": "officer",
            "regions": ["35.16.08"],
            "agency": "",
            "locale": "id",
            "password": "a-new-long-password",
            "active": "y",
        },
    )
    assert response.status_code == 302
    user = _user(app, "officer.new")
    assert user.role == "officer" and user.locale == "id"
    assert login(app.test_client(), "officer.new", "a-new-long-password").status_code == 302


def test_invalid_user_form_keeps_input_and_shows_errors_next_to_fields(login_as):
    admin = login_as("admin")
    page = admin.post(
        "/admin/users/new",
        data={
            "username": "x.officer",
            "full_name": "Typed Name",
            "role": "officer",
            "regions": [],
            "password": "short",
        },
    ).get_data(as_text=True)
    assert "Officers and supervisors need at least one region." in page
    assert "at least 10 characters" in page
    assert 'value="Typed Name"' in page


def test_duplicate_username_is_refused(login_as):
    admin = login_as("admin")
    response = admin.post(
        "/admin/users/new",
        data={"username": "officer.id1", "full_name": "Dup", "role": "admin", "password": "long-enough-pass"},
    )
    assert response.status_code == 422  # refused input, as on every other form
    assert "is taken" in response.get_data(as_text=True)


def test_agency_staff_needs_an_agency(login_as):
    admin = login_as("admin")
    page = admin.post(
        "/admin/users/new",
        data={
            "username": "staff.x",
            "full_name": "S",
            "role": "agency_staff",
            "agency": "",
            "password": "long-enough-pass",
        },
    ).get_data(as_text=True)
    assert "Agency staff must belong to an agency." in page


def test_password_reset_ends_sessions_and_old_password(app, login_as):
    officer = login_as("officer")
    admin = login_as("admin")
    user = _user(app, "officer.id1")
    response = admin.post(f"/admin/users/{user.id}/password", data={"password": "brand-new-password"})
    assert response.status_code == 302
    assert officer.get("/").status_code == 302
    assert login(app.test_client(), "officer.id1").status_code == 200
    assert login(app.test_client(), "officer.id1", "brand-new-password").status_code == 302


def test_admin_cannot_remove_own_admin_access(app, login_as):
    admin = login_as("admin")
    user = _user(app, "admin")
    page = admin.post(
        f"/admin/users/{user.id}", data={"full_name": "Admin", "role": "officer", "regions": ["35"]}
    ).get_data(as_text=True)
    assert "cannot remove your own administrator access" in page
    assert _user(app, "admin").role == "admin"


def test_create_admin_command(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "--username", "root.admin", "--password", "a-long-password-1"]
    )
    assert result.exit_code == 0, result.output
    assert _user(app, "root.admin").role == "admin"
    short = runner.invoke(args=["create-admin", "--username", "root.two", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_a_language_the_app_does_not_speak_is_refused_next_to_the_field(app, login_as):
    # The column holds 8 characters: PostgreSQL refused a longer value with a 500.
    admin = login_as("admin")
    officer_id = _user(app, "officer.id1").id
    for locale in ("x" * 5000, "<script>", "fr"):
        response = admin.post(
            f"/admin/users/{officer_id}",
            data={
                "full_name": "Budi",
                "role": "officer",
                "regions": ["35.16"],
                "locale": locale,
                "active": "y",
            },
        )
        assert response.status_code == 422, locale[:10]  # the form again, with the message
        assert "Choose one of the languages." in response.get_data(as_text=True), locale[:10]
    assert _user(app, "officer.id1").locale is None
