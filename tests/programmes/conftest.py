"""Helpers for programme tests: their defaults for the factories of tests/factories.py."""

from __future__ import annotations

from functools import partial

import pytest

from srs.extensions import db
from tests import factories
from tests.factories import add_household, agency, make_programme, region  # noqa: F401 - the folder's helpers

# Programme tests screen people whose facts are unknown unless a test gives them.
make_client = partial(factories.make_client, poverty_status="unknown", enrolments=[])


@pytest.fixture
def ctx(app, demo):  # type: ignore[no-untyped-def]
    """A request context (for gettext and Babel) with the demo regions, agencies and users."""
    with app.test_request_context():
        yield app
        db.session.rollback()
