"""Population denominators: the admin's CSV import (line-numbered errors, all or nothing), and the
SDG 1.3.1 series over them, each basis apart, agreeing with a read of the records."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import func, select

from srs.core import clock
from srs.extensions import db
from srs.reports.models import PopulationFigure
from tests.reports.test_coverage import build, expected

YEAR = clock.today().year - 1
GROUPS = {"0-14": 300, "15-64": 600, "65+": 100}


def good_csv(year: int = YEAR) -> str:
    lines = ["district,sex,age_group,year,source,population,poor,births,disabled"]
    for district in ("35.16", "35.76"):
        for sex in ("female", "male"):
            for group, n in GROUPS.items():
                births = 20 if sex == "female" and group == "15-64" else 0
                lines.append(
                    f"{district},{sex},{group},{year},BPS Susenas {year},{n},{n // 10},{births},{n // 50}"
                )
    return "\n".join(lines) + "\n"


def _upload(web: Any, text: str) -> Any:
    assert web.get("/reports/population").status_code == 200
    return web.post(
        "/reports/population",
        data={"file": (io.BytesIO(text.encode()), "population.csv")},
        content_type="multipart/form-data",
    )


def _count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PopulationFigure))


def test_bad_files_give_line_numbered_errors_and_import_nothing(app, login_as):
    build(app)
    web = login_as("admin")
    bad = (
        "district,sex,age_group,year,source,population\n"
        "35.16,female,0-14,2025,BPS,100\n"
        "NOPE,female,0-14,2025,BPS,100\n"
        "35.16,other,0-14,2025,BPS,100\n"
        "35.16,male,0-99,2025,BPS,100\n"
        "35.16,male,0-14,20x5,BPS,lots\n"
        "35.16,female,0-14,2025,BPS,100\n"
        "35.16,male,15-64,2025,,100,1,2\n"
    )
    response = _upload(web, bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for message in (
        "Line 3: no region has the code NOPE.",
        "Line 4: sex must be female or male.",
        "Line 5: the age group must be one of",
        "Line 6: year must be a whole number",
        "Line 6: population must be a whole number",
        "Line 7 repeats line 2.",
        "Line 8: more values than columns.",
    ):
        assert message in html, message
    assert _count(app) == 0
    assert "Line 1: the columns" in _upload(web, "district,sex\n35.16,female\n").get_data(as_text=True)
    assert _upload(web, "\x00\x01garbage").status_code == 422
    # A province and a district inside it in the same year would be counted twice.
    nested = (
        "district,sex,age_group,year,source,population\n"
        "35,female,0-14,2025,BPS,1\n"
        "35.16,female,0-14,2025,BPS,1\n"
    )
    assert "lies inside 35" in _upload(web, nested).get_data(as_text=True)
    assert _count(app) == 0


def test_import_and_replace(app, login_as):
    build(app)
    web = login_as("admin")
    assert _upload(web, good_csv()).status_code == 302
    assert _count(app) == 12
    again = good_csv().replace(",300,30,", ",310,31,")
    assert _upload(web, again).status_code == 302
    assert _count(app) == 12
    with app.app_context():
        assert db.session.scalar(select(func.sum(PopulationFigure.population))) == 2 * 2 * 1000 + 4 * 10
    assert "population-held" in web.get("/reports/population").get_data(as_text=True)
    assert login_as("supervisor").get("/reports/population").status_code == 403


def _series(
    client: Any, headers: dict[str, str], query: str = ""
) -> dict[tuple[str, str, str], dict[str, str]]:
    response = client.get(f"/api/v1/reports/coverage.csv{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return {(r["Series"], r["Basis"], r["Sex"]): r for r in rows}


def test_series_agree_with_the_records_and_never_mix_bases(app, client, api_token, login_as):
    build(app)
    assert _upload(login_as("admin"), good_csv()).status_code == 302
    with app.app_context():
        # The figures' districts (35.16 and 35.76) hold everything the supervisor sees.
        want = expected(clock.today(), "ID/35/")
    for role in ("supervisor", "admin"):
        rows = _series(client, api_token(role))
        pop = rows[("SI_COV_BENFTS", "of_population", "total")]
        # The admin's numerator too counts only the districts with figures (not 34.71, not Viet Nam).
        assert int(pop["Numerator"]) == want["covered"] and int(pop["Denominator"]) == 4000
        assert pop["Year"] == str(YEAR) and pop["Source"] == f"BPS Susenas {YEAR}"
        assert float(pop["Value (per cent)"]) == round(100 * want["covered"] / 4000, 2)
    rows = _series(client, api_token("supervisor"))
    reg = rows[("SI_COV_BENFTS", "of_registered", "total")]
    assert (int(reg["Numerator"]), int(reg["Denominator"])) == (want["covered"], want["registered"])
    assert reg["Source"] == "SRS register"
    female = rows[("SI_COV_BENFTS", "of_population", "female")]
    assert int(female["Denominator"]) == 2000
    assert int(female["Numerator"]) == want["by_sex"]["female"]["covered"]
    child = rows[("SI_COV_CHLD", "of_population", "total")]
    assert int(child["Denominator"]) == 4 * 300
    assert int(child["Numerator"]) == want["by_function"]["children_family"]["covered"] - 2  # elder, worker
    assert int(rows[("SI_COV_PENSN", "of_population", "total")]["Denominator"]) == 4 * 100
    assert int(rows[("SI_COV_POOR", "of_population", "total")]["Denominator"]) == 4 * 100
    assert int(rows[("SI_COV_POOR", "of_registered", "total")]["Numerator"]) == 1  # the poor child, PKH
    assert int(rows[("SI_COV_MATNL", "of_population", "total")]["Denominator"]) == 2 * 20
    assert ("SI_COV_MATNL", "of_registered", "total") not in rows
    # No population of the unemployed: that series is only "of registered".
    assert ("SI_COV_UEMP", "of_population", "total") not in rows
    uemp = rows[("SI_COV_UEMP", "of_registered", "total")]
    assert (uemp["Numerator"], uemp["Denominator"]) == ("0", "1")  # the adult's enrolment ended
    # Each row is one basis: its denominator says registered or population, never both.
    for (code, basis, _sex), r in rows.items():
        assert basis in ("of_registered", "of_population")
        assert r["Denominator is"].startswith("Registered") == (basis == "of_registered"), code
    # A year before the figures: no population rows; a bad period: 422; another region: 404.
    earlier = _series(client, api_token("supervisor"), f"?period={YEAR - 3}")
    assert not any(basis == "of_population" for _c, basis, _s in earlier)
    assert (
        client.get("/api/v1/reports/coverage.csv?period=20x6", headers=api_token("admin")).status_code == 422
    )
    response = client.get("/api/v1/reports/coverage.csv?region=34.71", headers=api_token("supervisor"))
    assert response.status_code == 404
    page = login_as("supervisor").get("/reports/coverage")
    assert 'data-testid="sdg-SI_COV_BENFTS-population-total"' in page.get_data(as_text=True)
