"""Every page a user reaches by following links from the home page, on the demo data, answers without error.

The route matrix (test_access_matrix.py) calls every route on small fixtures; this walks the seeded demo
(hundreds of clients, screenings, referrals, cases) as each role would, so an error that only real-looking
data provokes (a title Excel refuses, a missing translation argument, an empty relationship) is caught.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from srs.core.transaction import commit
from srs.extensions import db
from srs.seed import seed_demo
from tests.conftest import DEMO_PASSWORD, ROLE_USERS, login

pytestmark = pytest.mark.slow

HREF = re.compile(r'href="([^"#]+)"')
PAGES_PER_ROLE = 250
# Pages whose path differs only in ids are alike: a few of each kind are enough.
SAMPLES_PER_KIND = 5


def _crawl(client: FlaskClient) -> tuple[int, list[tuple[str, int]]]:
    """Follow internal links breadth-first; return the number of pages fetched and those that failed."""
    seen: set[str] = set()
    queue = deque(["/"])
    kinds: dict[str, int] = {}
    failures = []
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code >= 500 or response.status_code in (400, 404):
            failures.append((url, response.status_code))
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for href in HREF.findall(response.get_data(as_text=True)):
            parts = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            if parts.netloc not in ("", "localhost") or parts.path.startswith(("/static", "/logout")):
                continue
            kind = re.sub(r"\d+", "N", parts.path)
            kinds[kind] = kinds.get(kind, 0) + 1
            if kinds[kind] <= SAMPLES_PER_KIND:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return len(seen), failures


def test_every_linked_page_of_the_demo_answers_for_every_role(app: Flask) -> None:
    with app.test_request_context():
        seed_demo(DEMO_PASSWORD)
        commit()
        db.session.remove()
    for role in ("officer", "officer_vn", "supervisor", "agency_staff", "agency_vn", "admin"):
        client = app.test_client()
        assert login(client, ROLE_USERS[role]).status_code == 302
        fetched, failures = _crawl(client)
        assert fetched > 5, (role, fetched)  # the walk really went somewhere
        assert failures == [], (role, failures)
