"""In a real browser: each demo role signs in, sees its home page, and signs out."""

import pytest

from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("username", "role_label"),
    [
        ("officer.id1", "District officer"),
        ("agency.bpjstk", "Agency staff"),
        ("supervisor.id", "Supervisor"),
        ("admin", "Administrator"),
    ],
)
def test_each_role_signs_in_and_out(page, demo, username, role_label):
    sign_in(page, username, DEMO_PASSWORD)
    assert role_label in page.inner_text("[data-testid=role]")
    page.click("[data-testid=logout]")
    page.wait_for_selector("input[name=username]")
    page.goto("/")
    assert "/login" in page.url


def test_wrong_password_shows_a_message(page, demo):
    page.goto("/login")
    page.fill("input[name=username]", "officer.id1")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "The username or password is not right." in page.inner_text(".flashes")
