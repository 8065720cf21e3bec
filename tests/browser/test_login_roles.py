"""In a real browser: each demo role signs in, sees its home page, and signs out."""

import os

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


def test_language_selector_translates_the_home_page(page, demo):
    sign_in(page, "officer.id1", DEMO_PASSWORD)
    assert "Welcome, Siti Rahayu" in page.inner_text("h1")
    page.select_option("#lang-select", "id")
    page.wait_for_selector("html[lang=id]")
    assert "Selamat datang, Siti Rahayu" in page.inner_text("h1")
    assert "Petugas kabupaten/kota" in page.inner_text("[data-testid=role]")
    assert page.inner_text("[data-testid=logout]") == "Keluar"
    page.select_option("#lang-select", "vi")
    page.wait_for_selector("html[lang=vi]")
    assert "Xin chào, Siti Rahayu" in page.inner_text("h1")
    assert "Cán bộ cấp xã" in page.inner_text("[data-testid=role]")
    page.click("[data-testid=logout]")
    page.wait_for_selector("input[name=username]")
    assert "Bạn đã đăng xuất." in page.inner_text(".flashes")
    assert "Đăng nhập" in page.inner_text("h1")


def _screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """With SRS_SCREENSHOTS=<folder>, keep a picture for a person to look at the layout."""
    folder = os.environ.get("SRS_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _overflow(page) -> int:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("username", ["officer.id1", "admin"])
def test_phone_layout(phone_page, demo, username, tmp_path):
    page = phone_page
    page.goto("/login")
    assert _overflow(page) <= 360
    sign_in(page, username, DEMO_PASSWORD)
    assert _overflow(page) <= 360
    nav = page.locator("#main-nav")
    assert not nav.is_visible()
    page.click("[data-nav-toggle]")
    assert nav.is_visible()
    assert page.get_attribute("[data-nav-toggle]", "aria-expanded") == "true"
    assert page.locator("#main-nav a", has_text="Home").is_visible()
    assert _overflow(page) <= 360
    _screenshot(page, f"phone-menu-{username}")
    page.click("[data-nav-toggle]")
    assert not nav.is_visible()
    for language in ("id", "vi"):
        page.select_option("#lang-select", language)
        page.wait_for_selector(f"html[lang={language}]")
        assert _overflow(page) <= 360
    _screenshot(page, f"phone-home-{username}-vi")
    pages = ["/account"] + (
        ["/admin/users/", "/admin/audit", "/admin/regions/"] if username == "admin" else []
    )
    for path in pages:
        page.goto(path)
        assert _overflow(page) <= 360, path
        _screenshot(page, "phone" + path.replace("/", "-").rstrip("-") + f"-{username}")
