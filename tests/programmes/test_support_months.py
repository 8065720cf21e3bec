"""The 120-month limit of Viet Nam voluntary social insurance support (Decree 159/2025), counted from
the person's recorded enrolments; worked out by hand at the edges.

A poor person on the minimum income: 22% of 1,500,000 = 330,000 a month; the state pays 50% of it,
165,000, while months of support are left. A month counts when the person was enrolled on any day of
it; the estimates are made on 15 January 2026 (tests/programmes/test_estimates.py ``estimate``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from srs.extensions import db
from srs.programmes.estimates import months_of
from srs.programmes.models import Enrolment
from tests.factories import make_programme
from tests.programmes.conftest import make_client
from tests.programmes.test_estimates import HANOI_COMMUNE, estimate, figures, vn_vsi


def enrol(client: Any, programme: Any, start: date, end: date | None) -> None:
    db.session.add(
        Enrolment(
            client_id=client.id, programme_id=programme.id, start_on=start, end_on=end, source="profile"
        )
    )
    db.session.flush()


def test_months_are_calendar_months_both_ends_counted() -> None:
    assert len(months_of(date(2016, 1, 1), date(2025, 12, 31))) == 120
    assert len(months_of(date(2016, 1, 31), date(2016, 2, 1))) == 2
    assert len(months_of(date(2016, 1, 5), date(2016, 1, 6))) == 1


@pytest.mark.parametrize(
    ("start", "end", "support", "sentence"),
    [
        # No enrolment: all 120 months left.
        (None, None, 165_000, "0 of 120 months of state support used."),
        # January 2016 to November 2025: 10 x 12 - 1 = 119 months; one left.
        (
            date(2016, 1, 1),
            date(2025, 11, 30),
            165_000,
            "119 of 120 months of state support used: the support lasts 1 more months, then you pay all "
            "330,000.",
        ),
        # January 2016 to December 2025: 120 months, none left.
        (
            date(2016, 1, 1),
            date(2025, 12, 31),
            0,
            "120 of 120 months of state support used: the state pays nothing more.",
        ),
        # December 2015 to December 2025: 121 months; none left, shown as the limit.
        (
            date(2015, 12, 1),
            date(2025, 12, 31),
            0,
            "120 of 120 months of state support used: the state pays nothing more.",
        ),
        # Still open since 10 March 2016: March-December 2016 (10) + 2017-2025 (108) + January 2026 (1) = 119.
        (
            date(2016, 3, 10),
            None,
            165_000,
            "119 of 120 months of state support used: the support lasts 1 more months, then you pay all "
            "330,000.",
        ),
    ],
)
def test_the_limit_at_its_edges(
    ctx: Any, start: date | None, end: date | None, support: int, sentence: str
) -> None:
    version = vn_vsi(topups=[])
    person = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="poor")
    if start is not None:
        enrol(person, version.programme, start, end)
    e = estimate(version, person)
    assert figures(e) == (330_000, support, 330_000 - support)
    assert sentence in e["explanation"], e["explanation"]


def test_overlaps_count_once_and_other_programmes_not_at_all(ctx: Any) -> None:
    version = vn_vsi(topups=[])
    other = make_programme("VN-BHYT-HGD", "VSS", "VN")
    person = make_client(HANOI_COMMUNE, monthly_income=1_500_000, poverty_status="poor")
    enrol(person, version.programme, date(2016, 1, 1), date(2020, 12, 31))  # 60 months
    enrol(person, version.programme, date(2020, 1, 1), date(2025, 11, 30))  # 71 months, 12 of them shared
    enrol(person, other, date(2000, 1, 1), None)  # household health insurance: no such limit
    e = estimate(version, person)
    assert figures(e) == (330_000, 165_000, 165_000)
    assert any(s.startswith("119 of 120 months") for s in e["explanation"]), e["explanation"]
