"""What accounts add to the app: sign-in, the home page, one's own account, user administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from srs.accounts import views
from srs.accounts.seed import seed_users
from srs.core.wiring import AdminLink, Feature, NavEntry, SeedStep


def _seed(password: str) -> list[str]:
    return ["Demo users:", *seed_users(password)]


FEATURE = Feature(
    name="accounts",
    blueprints=(views.bp, views.admin_bp),
    nav=(NavEntry("admin_users.list_users", _l("Users"), {"admin"}, order=91),),
    admin_links=(AdminLink("admin_users.list_users", _l("Users and roles"), order=10),),
    seed_steps=(SeedStep(10, _seed),),
)
