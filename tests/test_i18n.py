"""Languages: the browser's, the visitor's choice, and a signed-in user's remembered choice."""

from sqlalchemy import select

from srs.accounts.models import User
from srs.extensions import db


def test_browser_language_is_used(client, demo):
    page = client.get("/login", headers={"Accept-Language": "id-ID,id;q=0.9"}).get_data(as_text=True)
    assert 'lang="id"' in page and "Masuk" in page
    page = client.get("/login", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert 'lang="vi"' in page and "Đăng nhập" in page


def test_choice_is_remembered_for_the_user(app, login_as):
    officer = login_as("officer")
    officer.post("/language", data={"lang": "vi", "next": "/"})
    assert 'lang="vi"' in officer.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.username == "officer.id1")) == "vi"
    # A new browser session of the same user starts in Vietnamese.
    again = login_as("officer")
    assert 'lang="vi"' in again.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_unknown_language_is_ignored(client, demo):
    client.post("/language", data={"lang": "xx", "next": "/login"})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
