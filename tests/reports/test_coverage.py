"""Coverage figures: the API summary's ``coverage``, the page, the drill-down lists and the trend agree
with each other and with a direct read of clients and enrolments; the supervisor sees their region."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from srs.core import clock
from srs.extensions import db
from srs.programmes.models import FUNCTIONS, Enrolment, Programme
from srs.regions.models import Region
from srs.registry.models import Client
from srs.reports import ages, coverage, coverage_facts
from srs.reports.models import CoverageFact
from tests.cases.conftest import acting_as
from tests.factories import make_client, make_programme


def _years_ago(years: int, days: int = 0) -> date:
    today = clock.today()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:
        born = today.replace(year=today.year - years, day=28)
    return born - timedelta(days=days)


def build(app: Any) -> None:
    """Clients of both countries with enrolments open, ended and in other programmes."""
    today = clock.today()
    long_ago = clock.now() - timedelta(days=400)
    with acting_as(app):
        pkh = make_programme("ID-PKH", "KEMENSOS", kind="social_assistance")
        pkh.functions = ["children_family", "social_assistance"]
        bpu = make_programme("ID-BPJSTK-BPU", "BPJSTK")
        bpu.functions = ["employment_injury", "survivors"]
        bpu.contributory = True
        tcxh = make_programme("VN-TCXH", "VSS", "VN", kind="social_assistance")
        tcxh.functions = ["social_assistance", "disability"]
        db.session.flush()
        child = make_client(
            "35.16.08.2003",
            sex="female",
            date_of_birth=_years_ago(8),
            poverty_status="poor",
            created_at=long_ago,
        )
        adult = make_client(
            "35.16.12.2007",
            sex="male",
            date_of_birth=_years_ago(40),
            work_status="unemployed",
            disability=True,
            created_at=long_ago,
        )
        elder = make_client(
            "35.76.01.1007",
            sex="female",
            date_of_birth=_years_ago(70),
            poverty_status="near_poor",
            created_at=long_ago,
        )
        worker = make_client(
            "35.16.08.2003", sex="female", date_of_birth=_years_ago(30), work_status="informal"
        )
        # Reaches 15 only next year (the age reached during the year, srs/reports/ages.py): in 0-14.
        make_client(
            "35.16.08.2003", sex="male", date_of_birth=date(today.year - 14, 1, 1), created_at=long_ago
        )
        outside = make_client("34.71.13.1007", sex="male", date_of_birth=_years_ago(50), created_at=long_ago)
        vn = make_client(
            "00070", sex="female", date_of_birth=_years_ago(66), disability=True, created_at=long_ago
        )
        merged = make_client("35.16.08.2003", sex="male", created_at=long_ago)
        rows = [
            (child, pkh, today - timedelta(days=60), None),
            (adult, bpu, today - timedelta(days=100), today - timedelta(days=10)),
            (elder, pkh, today - timedelta(days=200), None),
            (worker, bpu, today, None),
            (outside, pkh, today - timedelta(days=5), None),
            (vn, tcxh, today - timedelta(days=300), None),
            (merged, pkh, today - timedelta(days=20), None),
        ]
        for client, programme, start, end in rows:
            db.session.add(
                Enrolment(client_id=client.id, programme_id=programme.id, start_on=start, end_on=end)
            )
        db.session.flush()
        merged.merged_into_id = worker.id  # its enrolment moves to the kept client
        db.session.flush()


def _registered_on(c: Client) -> date:
    # As the facts read it: the local day on PostgreSQL, the UTC day on SQLite.
    if db.engine.dialect.name == "postgresql":
        return clock.local_date(c.created_at)
    created = c.created_at if c.created_at.tzinfo else c.created_at.replace(tzinfo=UTC)
    return created.astimezone(UTC).date()


def _age_group(born: date, on: date) -> str | None:
    # The reports' one rule, read from the record's birth date.
    return ages.group_of(born.year, on, coverage.AGE_GROUPS)


def expected(on: date, under: str | None = None) -> dict[str, Any]:
    """The figures from the records themselves, not from the facts."""
    paths = {r.id: r.path for r in db.session.scalars(select(Region))}
    functions = {p.id: list(p.functions or []) for p in db.session.scalars(select(Programme))}
    people = [
        c
        for c in db.session.scalars(select(Client).where(Client.merged_into_id.is_(None)))
        if _registered_on(c) <= on and (under is None or paths[c.region_id].startswith(under))
    ]
    open_by_client: dict[int, set[str]] = {}
    for e in db.session.scalars(select(Enrolment)):
        if e.start_on <= on and (e.end_on is None or e.end_on >= on):
            open_by_client.setdefault(e.client_id, set()).update(functions[e.programme_id] or ["?"])
    out: dict[str, Any] = {
        "registered": len(people),
        "covered": sum(1 for c in people if open_by_client.get(c.id)),
    }
    keys = {
        "by_sex": lambda c: c.sex,
        "by_age_group": lambda c: _age_group(c.date_of_birth, on),
        "disability": lambda c: {True: "yes", False: "no", None: "unknown"}[c.disability],
        "poverty_status": lambda c: c.poverty_status,
    }
    for name, key in keys.items():
        groups: dict[str, dict[str, int]] = {}
        for c in people:
            pair = groups.setdefault(key(c), {"registered": 0, "covered": 0})
            pair["registered"] += 1
            pair["covered"] += bool(open_by_client.get(c.id))
        out[name] = groups
    out["by_function"] = {
        f: {"registered": len(people), "covered": sum(1 for c in people if f in open_by_client.get(c.id, ()))}
        for f in FUNCTIONS
    }
    return out


def _nonzero(groups: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {k: v for k, v in groups.items() if v["registered"]}


def _same(body: dict[str, Any], want: dict[str, Any]) -> None:
    assert body["registered"] == want["registered"] and body["covered"] == want["covered"]
    for name in ("by_sex", "by_age_group", "disability", "poverty_status"):
        assert _nonzero(body[name]) == want[name], name
    assert body["by_function"] == want["by_function"]


def test_summary_coverage_agrees_with_the_records(app, client, api_token):
    build(app)
    with app.app_context():
        want_supervisor = expected(clock.today(), "ID/35/")
        want_admin = expected(clock.today())
    body = client.get("/api/v1/reports/summary", headers=api_token("supervisor")).get_json()["coverage"]
    _same(body, want_supervisor)
    # The hand count: 5 registered in Jawa Timur (merged one out, other provinces out), the child,
    # the elder and the worker covered (the adult's enrolment ended ten days ago).
    assert (body["registered"], body["covered"]) == (5, 3)
    assert body["by_age_group"]["0-14"] == {"registered": 2, "covered": 1}
    assert body["by_function"]["children_family"]["covered"] == 3  # the merged one's PKH moved to the worker
    assert body["by_function"]["survivors"]["covered"] == 1
    assert set(body["by_region"]) == {"35.16", "35.76"}
    assert body["by_region"]["35.76"] == {"registered": 1, "covered": 1}
    admin = client.get("/api/v1/reports/summary", headers=api_token("admin")).get_json()["coverage"]
    _same(admin, want_admin)
    assert admin["registered"] == 7 and admin["by_function"]["disability"]["covered"] == 1
    # Ninety days back the adult was covered and the worker not yet.
    past = (clock.today() - timedelta(days=90)).isoformat()
    body = client.get(f"/api/v1/reports/summary?to={past}", headers=api_token("supervisor")).get_json()
    with app.app_context():
        _same(body["coverage"], expected(date.fromisoformat(past), "ID/35/"))


def test_every_figure_matches_its_drill_down_list(app, login_as):
    build(app)
    web = login_as("supervisor")
    with app.app_context():
        want = expected(clock.today(), "ID/35/")

    def total(kind: str, **args: str) -> int:
        response = web.get(f"/reports/coverage/list/{kind}", query_string=args)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return int(html.split('data-testid="list-total">')[1].split("<")[0])

    assert total("registered") == want["registered"] and total("covered") == want["covered"]
    assert total("not_covered") == want["registered"] - want["covered"]
    for f in FUNCTIONS:
        assert total("covered", cov_function=f) == want["by_function"][f]["covered"], f
    for sex, pair in want["by_sex"].items():
        assert total("covered", sex=sex) == pair["covered"]
    for group, pair in want["by_age_group"].items():
        assert total("registered", cov_age=group) == pair["registered"]
        assert total("covered", cov_age=group) == pair["covered"]
    for status, pair in want["poverty_status"].items():
        assert total("covered", cov_poverty_status=status) == pair["covered"]
    for answer, pair in want["disability"].items():
        assert total("registered", cov_disability=answer) == pair["registered"]
    assert total("covered", region="35.76") == 1
    page = web.get("/reports/coverage")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="cov-function-children_family"' in html and "SI_COV_BENFTS" in html
    assert 'data-testid="dashboard-coverage"' in web.get("/reports/").get_data(as_text=True)
    # Bad coverage arguments: the page says which, never a 500.
    response = web.get("/reports/coverage/list/covered?cov_function=nonsense&cov_age=3-4")
    assert response.status_code == 422
    assert web.get("/reports/coverage?region=34.71").status_code == 422
    assert web.get("/reports/coverage/list/nothing").status_code == 404
    export = web.get("/reports/coverage/list/covered/export.csv?cov_function=children_family")
    lines = export.get_data(as_text=True).count("\n")
    assert export.status_code == 200 and lines == 1 + want["by_function"]["children_family"]["covered"]


def test_the_trend_is_the_figure_at_each_month_end(app, demo):
    build(app)
    with acting_as(app, "supervisor.id"):
        q = coverage.parse_query({})
        months = coverage.trend(q)
        assert months and months[-1]["as_of"] == q.as_of
        for m in months:
            want = expected(m["as_of"], "ID/35/")
            assert (m["registered"], m["covered"]) == (want["registered"], want["covered"]), m["month"]


def test_kept_facts_equal_a_rebuild(app, demo):
    build(app)
    with acting_as(app):
        # A change of a programme's functions moves the rows of everyone enrolled in it.
        pkh = db.session.scalar(select(Programme).where(Programme.code == "ID-PKH"))
        pkh.functions = ["social_assistance"]
        elder = db.session.scalar(select(Client).where(Client.region_id == _region_id("35.76.01.1007")))
        elder.poverty_status = "poor"
        db.session.flush()

        def rows() -> list[tuple[Any, ...]]:
            return sorted(
                (
                    r.client_id,
                    r.programme_id,
                    r.function,
                    r.contributory,
                    r.start_on,
                    r.end_on,
                    r.poverty_status,
                )
                for r in db.session.scalars(select(CoverageFact))
            )

        kept = rows()
        assert not any(r[2] == "children_family" for r in kept)
        coverage_facts.rebuild_coverage()
        assert rows() == kept


def _region_id(code: str) -> int:
    return db.session.scalar(select(Region.id).where(Region.code == code))


def test_only_report_roles(app, client, api_token, login_as):
    build(app)
    assert client.get("/api/v1/reports/coverage.csv", headers=api_token("officer")).status_code == 403
    assert login_as("officer").get("/reports/coverage").status_code == 403
    assert login_as("officer").get("/reports/coverage/list/covered").status_code == 403


def _stamp(day: date) -> datetime:
    return clock.local_midnight(day)


def test_the_client_columns_listed_as_read_are_every_client_column_the_coverage_selects_read(app, demo):
    from sqlalchemy import Column
    from sqlalchemy.sql import visitors

    with acting_as(app):
        read = set()
        for stmt in coverage_facts._selects(db.session.connection(), [1]):
            for element in visitors.iterate(stmt, {"column_collections": False}):
                if isinstance(element, Column) and element.table is Client.__table__:
                    read.add(element.name)
    assert "sex" in read  # the walk does see the columns
    assert read - {"id"} <= coverage_facts.CLIENT_COLUMNS


def test_a_registration_inserts_one_row_and_an_edit_of_other_columns_none(app, demo):
    from sqlalchemy import event

    from srs.reports.models import REGISTRATION

    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "report_coverage_facts" in statement:
            seen.append(statement.split()[0].upper())

    with acting_as(app):
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            person = make_client()
            assert seen == ["INSERT"]  # its registration row: nothing deleted, no programme read
            rows = db.session.scalars(select(CoverageFact).where(CoverageFact.client_id == person.id)).all()
            assert [(r.programme_id, r.function) for r in rows] == [(0, REGISTRATION)]
            seen.clear()
            person.phone = "081234567890"
            person.address = "Jl. Merdeka 2"
            db.session.flush()
            assert seen == []
            person.poverty_status = "poor"  # a column a coverage row reads
            db.session.flush()
            assert seen and seen[0] == "DELETE"
            poverty = select(CoverageFact.poverty_status).where(CoverageFact.client_id == person.id)
            assert db.session.scalar(poverty) == "poor"
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
