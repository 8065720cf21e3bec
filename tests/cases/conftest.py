"""Helpers for cases, complaints and reports tests (the factories themselves are tests/factories.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from srs.accounts.models import User
from srs.extensions import db
from tests import factories
from tests.factories import user

# Cases and reports tests work with informal workers without a disability unless they say otherwise.
make_client = partial(factories.make_client, work_status="informal", disability=False)


@contextmanager
def acting_as(app: Any, username: str | None = None) -> Iterator[User | None]:
    """A request context signed in as ``username`` (services that scope by current_user need one)."""
    from flask_login import login_user

    with app.test_request_context():
        actor = None
        if username is not None:
            actor = user(username)
            login_user(actor)
        yield actor
        db.session.commit()
