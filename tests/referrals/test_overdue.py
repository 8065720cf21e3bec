"""The two overdue measures (srs/referrals/overdue.py) agree wherever "overdue" is shown.

One world of referrals of every kind (waiting for a decision past due, accepted but not completed past
due, not overdue yet, closed, in another district and in another province), read by a supervisor, an
officer, an agency and an admin through the home pages, the overdue lists, the agency inbox, the
dashboard, its drill-down lists, the monthly summary, the exports and /api/v1/reports/summary.
The clock is frozen (time-machine), then moved on so referrals not due yet become overdue everywhere.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from srs.extensions import db
from srs.referrals import overdue
from srs.referrals.models import Referral
from srs.reports import services
from tests.cases.conftest import acting_as, make_client
from tests.factories import make_programme, user

AWAITING, NOT_COMPLETED = overdue.AWAITING_DECISION, overdue.NOT_COMPLETED
NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def _referral(client: Any, programme: Any, status: str, due_in: timedelta, by: str = "officer.id1") -> int:
    created = NOW - 20 * DAY
    decided = created + DAY if status in ("accepted", "declined", "completed") else None
    referral = Referral(
        client_id=client.id,
        programme_id=programme.id,
        agency_id=programme.agency_id,
        region_id=client.region_id,
        status=status,
        created_at=created,
        created_by_id=user(by).id,
        delivered_at=None if status == "pending" else created + HOUR,
        decided_at=decided,
        closed_at=decided if status in ("declined", "completed", "cancelled") else None,
        outcome="successful" if status == "completed" else None,
        due_at=NOW + due_in,
    )
    db.session.add(referral)
    db.session.flush()
    return referral.id


@pytest.fixture
def world(app, demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Referrals by name; the officer (officer.id1) covers 35.16, the supervisor the province 35."""
    with time_machine.travel(NOW, tick=False), acting_as(app):
        bpu = make_programme("ID-BPJSTK-BPU", "BPJSTK")  # agency.bpjstk's programme
        jkn = make_programme("ID-JKN-PBI", "BPJSKES")
        here = make_client("35.16.08.2003", created_at=NOW - 30 * DAY)
        neighbour = make_client("35.76.01.1007", created_at=NOW - 30 * DAY)
        elsewhere = make_client("34.71.13.1007", created_at=NOW - 30 * DAY)
        ids = {
            # The officer's district (35.16).
            "delivered_late": _referral(here, bpu, "delivered", -2 * DAY),
            "pending_late": _referral(here, jkn, "pending", -DAY),  # never reached BPJS Kesehatan
            "accepted_late": _referral(here, bpu, "accepted", -3 * DAY),
            "accepted_just_late": _referral(here, bpu, "accepted", -HOUR),
            "delivered_in_time": _referral(here, bpu, "delivered", 2 * DAY),
            "accepted_in_time": _referral(here, bpu, "accepted", DAY),
            "completed": _referral(here, bpu, "completed", -5 * DAY),
            "declined": _referral(here, bpu, "declined", -5 * DAY),
            "cancelled": _referral(here, jkn, "cancelled", -5 * DAY),
            # Another district of the supervisor's province (35.76): not the officer's.
            "neighbour_accepted_late": _referral(neighbour, bpu, "accepted", -2 * DAY, "officer.id2"),
            "neighbour_delivered_late": _referral(neighbour, bpu, "delivered", -4 * DAY, "officer.id2"),
            # Another province (34.71): only the agency and the admin see it.
            "elsewhere_delivered_late": _referral(elsewhere, bpu, "delivered", -DAY, "admin"),
        }
    return ids


def _number(html: str, testid: str) -> int:
    found = re.search(
        rf'data-testid="{re.escape(testid)}"[^>]*>(?:<span class="kpi-value">)?([\d.,]+)<', html
    )
    assert found, f"no {testid} in the page"
    return int(found.group(1).replace(",", "").replace(".", ""))


def _results(html: str) -> int:
    """The number of rows a paginated list says it has ("12 results")."""
    found = re.search(r"(\d+) results?</p>", html)
    assert found, "no result count in the page"
    return int(found.group(1))


def _kinds_listed(html: str) -> list[str]:
    return re.findall(r'data-testid="overdue" data-kind="([a-z_]+)"', html)


def _expected(*names: str, world: dict[str, int]) -> set[int]:
    return {world[name] for name in names}


def _supervisor_sees(get: Any) -> dict[str, dict[str, int]]:
    """Every supervisor surface's count, per measure."""
    home = get("/").get_data(as_text=True)
    dashboard = get("/reports/").get_data(as_text=True)
    monthly = get("/reports/monthly?month=2026-06").get_data(as_text=True)
    figures: dict[str, dict[str, int]] = {}
    for kind in overdue.KINDS:
        listed = get(f"/referrals/overdue?kind={kind}").get_data(as_text=True)
        assert set(_kinds_listed(listed)) <= {kind}
        drilldown = get(f"/reports/list/overdue_referrals_{kind}").get_data(as_text=True)
        figures[kind] = {
            "home": _number(home, f"overdue-count-{kind}"),
            "overdue list": _results(listed),
            "overdue list badges": len(_kinds_listed(listed)),
            "dashboard": _number(dashboard, f"kpi-overdue-{kind}"),
            "drill-down": _results(drilldown),
            "monthly total": int(
                re.findall(r"<td>(\d+)</td>", monthly.split("<tfoot>")[1])[4 + overdue.KINDS.index(kind)]
            ),
        }
    figures["total"] = {
        "home": _number(home, "overdue-count"),
        "overdue list": _results(get("/referrals/overdue").get_data(as_text=True)),
        "dashboard": _number(dashboard, "kpi-overdue-referrals"),
        "drill-down": _results(get("/reports/list/overdue_referrals").get_data(as_text=True)),
    }
    return figures


def _all_equal(figures: dict[str, dict[str, int]], expected: dict[str, int]) -> None:
    for kind, by_surface in figures.items():
        assert set(by_surface.values()) == {expected[kind]}, (kind, by_surface)


def test_a_supervisor_sees_the_same_overdue_figures_everywhere(app, world, login_as, api_token, client):
    with time_machine.travel(NOW, tick=False):
        supervisor = login_as("supervisor")
        expected = {AWAITING: 3, NOT_COMPLETED: 3, "total": 6}
        _all_equal(_supervisor_sees(supervisor.get), expected)

        body = client.get("/api/v1/reports/summary", headers=api_token("supervisor")).get_json()
        assert body["overdue_by_kind"] == {AWAITING: 3, NOT_COMPLETED: 3}
        assert body["overdue"] == 6  # the total, as before the measures had names

        # The rows behind the numbers: the late ones of the province, none in time, closed or elsewhere.
        with acting_as(app, "supervisor.id"):
            filters = services.parse_filters({})
            for kind, names in (
                (AWAITING, ("delivered_late", "pending_late", "neighbour_delivered_late")),
                (NOT_COMPLETED, ("accepted_late", "accepted_just_late", "neighbour_accepted_late")),
            ):
                listing = services.listing(f"overdue_referrals_{kind}", filters)
                rows = list(services.iter_rows(listing))
                assert {row[0] for row in rows} == _expected(*names, world=world)
                assert {row[-1] for row in rows} == {str(overdue.LABELS[kind])}

        # The district table and chart split the province the same way.
        dashboard = supervisor.get("/reports/").get_data(as_text=True)
        mojokerto = dashboard.split('data-region="35.16"')[1].split("</tr>")[0]
        city = dashboard.split('data-region="35.76"')[1].split("</tr>")[0]
        assert (
            _number(mojokerto, f"district-overdue-{AWAITING}"),
            _number(mojokerto, f"district-overdue-{NOT_COMPLETED}"),
        ) == (2, 2)
        assert (
            _number(city, f"district-overdue-{AWAITING}"),
            _number(city, f"district-overdue-{NOT_COMPLETED}"),
        ) == (1, 1)
        assert _number(mojokerto, "district-overdue") == 4
        for kind in overdue.KINDS:  # one chart segment per district and measure, linked to its list
            assert dashboard.count(f'data-kind="{kind}"') == 2
            assert f"/reports/list/overdue_referrals_{kind}?" in dashboard

        # The exports: the summary and the monthly summary carry both measures.
        summary = {
            row[0]: row[1]
            for row in csv.reader(io.StringIO(supervisor.get("/reports/summary.csv").get_data(as_text=True)))
            if len(row) > 1
        }
        assert summary["Overdue referrals"] == "6"
        assert summary["Waiting for a decision past due"] == "3"
        assert summary["Accepted but not completed past due"] == "3"
        monthly = list(
            csv.reader(
                io.StringIO(supervisor.get("/reports/monthly.csv?month=2026-06").get_data(as_text=True))
            )
        )
        header = monthly[0]
        by_code = {row[1]: dict(zip(header, row, strict=True)) for row in monthly[1:]}
        assert by_code["35.16"]["Waiting for a decision past due"] == "2"
        assert by_code["35.76"]["Accepted but not completed past due"] == "1"
        assert by_code["35.16"]["Overdue referrals"] == "4"
        exported = supervisor.get(f"/reports/list/overdue_referrals_{NOT_COMPLETED}/export.csv").get_data(
            as_text=True
        )
        assert len(list(csv.reader(io.StringIO(exported)))) == 1 + 3


def test_an_officer_sees_the_same_overdue_figures_everywhere(app, world, login_as):
    with time_machine.travel(NOW, tick=False):
        officer = login_as("officer")
        home = officer.get("/").get_data(as_text=True)
        listed = {
            kind: officer.get(f"/referrals/?overdue={kind}").get_data(as_text=True) for kind in overdue.KINDS
        }
        with acting_as(app, "officer.id1"):
            # The officer has no dashboard page; the same figures for the officer's scope.
            board = services.dashboard(services.parse_filters({}))
            api = services.summary(services.parse_filters({}))
        for kind in overdue.KINDS:
            assert _number(home, f"overdue-count-{kind}") == _results(listed[kind]) == 2
            assert _kinds_listed(listed[kind]) == [kind, kind]
            assert board.overdue_by_kind[kind] == api["overdue_by_kind"][kind] == 2
        assert _results(officer.get("/referrals/?overdue=1").get_data(as_text=True)) == 4 == api["overdue"]
        # Both measures need the officer's attention; each line says which one.
        assert sorted(_kinds_listed(home)) == [AWAITING, AWAITING, NOT_COMPLETED, NOT_COMPLETED]
        assert "Overdue: no decision yet" in home and "Overdue: not completed" in home


def test_the_agency_inbox_flags_what_the_agency_owes_as_the_admin_counts_it(
    app, world, login_as, api_token, client
):
    with time_machine.travel(NOW, tick=False):
        staff = login_as("agency_staff")
        inbox = staff.get("/referrals/inbox").get_data(as_text=True)
        home = staff.get("/").get_data(as_text=True)
        admin = client.get(
            "/api/v1/reports/summary?programme=ID-BPJSTK-BPU", headers=api_token("admin")
        ).get_json()
        # Every province, only BPJS Ketenagakerjaan's programme, only referrals delivered to it.
        assert admin["overdue_by_kind"] == {AWAITING: 3, NOT_COMPLETED: 3}
        for kind in overdue.KINDS:
            listed = staff.get(f"/referrals/inbox?status=all&overdue={kind}").get_data(as_text=True)
            assert _number(inbox, f"count-overdue-{kind}") == _number(home, f"count-overdue-{kind}")
            assert (
                _number(inbox, f"count-overdue-{kind}") == _results(listed) == admin["overdue_by_kind"][kind]
            )
            assert set(_kinds_listed(listed)) == {kind}
        assert _number(inbox, "count-overdue") == 6 == admin["overdue"]
        detail = staff.get(f"/referrals/{world['accepted_just_late']}").get_data(as_text=True)
        assert f'data-kind="{NOT_COMPLETED}"' in detail
        referral = client.get(
            f"/api/v1/referrals/{world['accepted_just_late']}", headers=api_token("agency_staff")
        ).get_json()
        assert referral["overdue"] is True and referral["overdue_kind"] == NOT_COMPLETED


def test_referrals_not_due_yet_become_overdue_everywhere_when_the_time_comes(
    app, world, login_as, api_token, client
):
    with time_machine.travel(NOW, tick=False) as traveller:
        _all_equal(_supervisor_sees(login_as("supervisor").get), {AWAITING: 3, NOT_COMPLETED: 3, "total": 6})
        # Three days on: the one due in two days waits for a decision past due, the one due
        # tomorrow is accepted and not completed past due. (A new sign-in: sessions last 12 hours.)
        traveller.shift(3 * DAY)
        _all_equal(_supervisor_sees(login_as("supervisor").get), {AWAITING: 4, NOT_COMPLETED: 4, "total": 8})
        body = client.get("/api/v1/reports/summary", headers=api_token("supervisor")).get_json()
        assert body["overdue_by_kind"] == {AWAITING: 4, NOT_COMPLETED: 4} and body["overdue"] == 8


def test_the_python_predicate_says_what_the_sql_condition_selects(app, world):
    moments = [NOW - 6 * DAY, NOW, NOW + HOUR, NOW + 3 * DAY]
    with acting_as(app):
        referrals = list(db.session.query(Referral))
        for moment in moments:
            for kind in (None, *overdue.KINDS):
                selected = set(
                    db.session.scalars(db.select(Referral.id).where(overdue.referral_condition(kind, moment)))
                )
                predicted = {
                    r.id
                    for r in referrals
                    if (found := overdue.kind_of_referral(r, moment)) is not None and kind in (None, found)
                }
                assert selected == predicted, (moment, kind)
        # Nothing at all is overdue before the first due time.
        assert not any(overdue.kind_of_referral(r, NOW - 6 * DAY) for r in referrals)


def test_the_overdue_filter_ignores_what_it_does_not_know(app, world, login_as):
    with time_machine.travel(NOW, tick=False):
        officer = login_as("officer")
        everything = _results(officer.get("/referrals/").get_data(as_text=True))
        assert everything == 9
        for raw in ("", "0", "yes", "awaiting", "' OR 1=1 --"):
            assert (
                _results(officer.get("/referrals/", query_string={"overdue": raw}).get_data(as_text=True))
                == everything
            )
        supervisor = login_as("supervisor")
        assert _results(supervisor.get("/referrals/overdue?kind=nope").get_data(as_text=True)) == 6
        assert supervisor.get("/reports/list/overdue_referrals_nope").status_code == 404
