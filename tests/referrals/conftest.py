"""Helpers for the referral tests: their defaults for the factories of tests/factories.py, and the queue."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from srs.core.queue import get_queue
from srs.core.redis import get_redis
from srs.core.transaction import commit
from srs.extensions import db
from tests import factories

# Referral tests refer a street vendor (tests/factories.py) unless they say otherwise.
make_client = partial(factories.make_client, **factories.STREET_VENDOR)


def run_jobs() -> None:
    """Run every queued job (and what they enqueue) on the real Redis with a SimpleWorker."""
    SimpleWorker([get_queue()], connection=get_redis(), serializer=JSONSerializer).work(burst=True)


@pytest.fixture
def ref_ctx(app, demo) -> Any:  # type: ignore[no-untyped-def]
    """An app + request context with the demo users; helpers commit like a request's edge would."""
    with app.test_request_context():
        yield app
        db.session.rollback()


def deliver_all() -> None:
    commit()
    run_jobs()
