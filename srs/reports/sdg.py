"""Population denominators and the SDG 1.3.1 series SRS can compute for its area.

An admin imports reference figures (a CSV: district, sex, age group, year, source, population and
optionally poor population, births, people with disabilities). Each series comes in up to two
bases that are never mixed: "of registered" (numerator and denominator both people registered in
SRS) and "of population" (the same numerator, over the imported figures of the districts that have
figures for the year; the numerator then counts only people registered in those districts).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, func, or_, select

from srs.core import audit
from srs.extensions import db
from srs.programmes.enrolments import FUNCTION_LABELS
from srs.regions.models import Region
from srs.regions.scope import region_id_condition
from srs.registry.models import SEXES
from srs.reports.coverage import (
    CoverageQuery,
    F,
    age_conditions,
    counted,
    covered_condition,
    registered_conditions,
)
from srs.reports.filters import region_condition
from srs.reports.models import POPULATION_AGE_GROUPS, PopulationFigure

REQUIRED_COLUMNS = ("district", "sex", "age_group", "year", "source", "population")
OPTIONAL_COLUMNS = ("poor", "births", "disabled")
MAX_LINES = 100_000
EMPLOYED = ("informal", "self_employed", "msme_worker", "formal")


# ---------------------------------------------------------------------------------------------
# Import


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    rows: int = 0
    years: list[int] = field(default_factory=list)


def _int(raw: str, name: str, line: int, errors: list[str], required: bool) -> int | None:
    raw = (raw or "").strip().replace(",", "").replace("_", "")
    if not raw:
        if required:
            errors.append(_("Line %(line)d: %(column)s is missing.", line=line, column=name))
        return None
    if not raw.isdigit() or len(raw) > 12:
        errors.append(
            _(
                "Line %(line)d: %(column)s must be a whole number, not %(value)s.",
                line=line,
                column=name,
                value=raw[:20],
            )
        )
        return None
    return int(raw)


def import_population(text: str, user: Any = None) -> ImportResult:
    """Import reference figures: all lines or none. A line for a district, sex, age group and year
    already held replaces it. Every error names its line (the header is line 1)."""
    result = ImportResult()
    errors = result.errors
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        errors.append(_("Line 1: the columns %(columns)s are missing.", columns=", ".join(missing)))
        return result
    reader.fieldnames = header
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    seen: dict[tuple[int, str, str, int], int] = {}
    parsed: list[dict[str, Any]] = []
    for index, raw in enumerate(reader):
        line = index + 2
        if line > MAX_LINES:
            errors.append(_("The file has more than %(n)d lines.", n=MAX_LINES))
            break
        if None in raw:
            errors.append(_("Line %(line)d: more values than columns.", line=line))
            continue
        row = {k: (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        region = regions.get(row["district"])
        if region is None:
            errors.append(
                _("Line %(line)d: no region has the code %(code)s.", line=line, code=row["district"][:40])
            )
        sex = row["sex"].lower()
        if sex not in SEXES:
            errors.append(_("Line %(line)d: sex must be female or male.", line=line))
        age = row["age_group"]
        if age not in POPULATION_AGE_GROUPS:
            errors.append(
                _(
                    "Line %(line)d: the age group must be one of %(groups)s.",
                    line=line,
                    groups=", ".join(POPULATION_AGE_GROUPS),
                )
            )
        year = _int(row["year"], "year", line, errors, True)
        if year is not None and not 1950 <= year <= 2100:
            errors.append(_("Line %(line)d: %(year)d is not a plausible year.", line=line, year=year))
            year = None
        source = row["source"]
        if not source:
            errors.append(_("Line %(line)d: name the source (e.g. BPS, GSO).", line=line))
        elif len(source) > 200:
            errors.append(_("Line %(line)d: the source has more than 200 characters.", line=line))
        values = {"population": _int(row["population"], "population", line, errors, True)}
        for name in OPTIONAL_COLUMNS:
            values[name] = _int(row.get(name, ""), name, line, errors, False)
        population = values["population"]
        for name in OPTIONAL_COLUMNS:
            part = values[name]
            if name != "births" and part is not None and population is not None and part > population:
                errors.append(
                    _("Line %(line)d: %(column)s is larger than the population.", line=line, column=name)
                )
        if region is None or sex not in SEXES or age not in POPULATION_AGE_GROUPS or year is None:
            continue
        key = (region.id, sex, age, year)
        if key in seen:
            errors.append(_("Line %(line)d repeats line %(first)d.", line=line, first=seen[key]))
            continue
        seen[key] = line
        parsed.append(
            {
                "region": region,
                "line": line,
                "sex": sex,
                "age_group": age,
                "year": year,
                "source": source,
                **values,
            }
        )
    if not errors:
        _check_nesting(parsed, errors)
    if errors:
        return result
    for item in parsed:
        existing = db.session.scalar(
            select(PopulationFigure).where(
                PopulationFigure.region_id == item["region"].id,
                PopulationFigure.sex == item["sex"],
                PopulationFigure.age_group == item["age_group"],
                PopulationFigure.year == item["year"],
            )
        )
        figure = existing or PopulationFigure(region_id=item["region"].id)
        for name in ("sex", "age_group", "year", "source", "population", *OPTIONAL_COLUMNS):
            setattr(figure, name, item[name])
        figure.imported_by_id = getattr(user, "id", None)
        db.session.add(figure)
    db.session.flush()
    result.rows = len(parsed)
    result.years = sorted({item["year"] for item in parsed})
    audit.record("population.import", "population", None, user=user, rows=result.rows, years=result.years)
    return result


def _check_nesting(parsed: list[dict[str, Any]], errors: list[str]) -> None:
    """Figures for a region and for one inside it, in the same year, would be counted twice."""
    by_year: dict[int, dict[str, tuple[Region, int]]] = {}
    for item in parsed:
        by_year.setdefault(item["year"], {})[item["region"].path] = (item["region"], item["line"])
    for year, held in db.session.execute(
        select(PopulationFigure.year, Region).join(Region, Region.id == PopulationFigure.region_id)
    ).all():
        by_year.setdefault(year, {}).setdefault(held.path, (held, 0))
    for year, paths in by_year.items():
        for path, (region, line) in paths.items():
            outer = next((p for p in paths if p != path and path.startswith(p)), None)
            if outer is not None:
                other, other_line = paths[outer]
                at = line or other_line
                errors.append(
                    _(
                        "Line %(line)d: %(inner)s lies inside %(outer)s, which also has figures"
                        " for %(year)d.",
                        line=at,
                        inner=region.code,
                        outer=other.code,
                        year=year,
                    )
                )


def figures_held() -> list[dict[str, Any]]:
    """Per year: how many figures, districts and people are held, and from which sources."""
    rows = db.session.execute(
        select(
            PopulationFigure.year,
            func.count(),
            func.count(func.distinct(PopulationFigure.region_id)),
            func.sum(PopulationFigure.population),
        )
        .group_by(PopulationFigure.year)
        .order_by(PopulationFigure.year.desc())
    ).all()
    out = []
    for year, n, districts, people in rows:
        sources = sorted(
            set(db.session.scalars(select(PopulationFigure.source).where(PopulationFigure.year == year)))
        )
        out.append(
            {
                "year": year,
                "figures": n,
                "districts": districts,
                "population": int(people or 0),
                "sources": sources,
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Series


@dataclass(frozen=True)
class Series:
    """One SDG 1.3.1 series: whom it counts (``group``, conditions on the registration rows), what
    covers them (a function, or any), and which imported column is its population denominator."""

    code: str
    label: Any
    group_label: Any
    group: Callable[[CoverageQuery], list[ColumnElement[bool]]]
    function: str | None
    contributory: bool | None = None
    population_column: str | None = None
    population_age: str | None = None
    registered_basis: bool = True
    by_sex: bool = True
    assumption: Any = ""


def _all(_q: CoverageQuery) -> list[ColumnElement[bool]]:
    return []


def _age(group: str) -> Callable[[CoverageQuery], list[ColumnElement[bool]]]:
    return lambda q: age_conditions(F.birth_year, group, q.as_of)


def _vulnerable(q: CoverageQuery) -> list[ColumnElement[bool]]:
    # ILO: all children, plus people of working age and older people without contributory cover.
    return [
        or_(and_(*age_conditions(F.birth_year, "0-14", q.as_of)), ~covered_condition(q, contributory=True))
    ]


def _women(_q: CoverageQuery) -> list[ColumnElement[bool]]:
    return [F.sex == "female"]


SERIES = (
    Series(
        "SI_COV_BENFTS",
        _l("Covered by at least one social protection benefit"),
        _l("people"),
        _all,
        None,
        population_column="population",
        assumption=_l("Covered: an enrolment in any programme open on the day, contributory or not."),
    ),
    Series(
        "SI_COV_CHLD",
        _l("Children covered by children and family benefits"),
        _l("children aged 0-14"),
        _age("0-14"),
        "children_family",
        population_column="population",
        population_age="0-14",
        assumption=_l(
            "Children: aged 0-14 as the age reached during the year of the day (the year minus the year"
            " of birth, as Eurostat counts; the imported age group), not under 15 by another rule."
        ),
    ),
    Series(
        "SI_COV_MATNL",
        _l("Mothers covered by maternity benefits"),
        _l("women"),
        _women,
        "maternity",
        population_column="births",
        registered_basis=False,
        by_sex=False,
        assumption=_l(
            "Numerator: women registered with a maternity programme open on the day; denominator: the"
            " births of the year imported. Not given of registered: SRS does not know who gave birth."
        ),
    ),
    Series(
        "SI_COV_DISAB",
        _l("Persons with disabilities covered by disability benefits"),
        _l("people with a disability"),
        lambda q: [F.disability.is_(True)],
        "disability",
        population_column="disabled",
        assumption=_l(
            "Disability as registered (yes/no), not the ILO's severe disability; the imported count of"
            " people with disabilities stands for the severely disabled."
        ),
    ),
    Series(
        "SI_COV_UEMP",
        _l("Unemployed receiving unemployment benefits"),
        _l("unemployed people"),
        lambda q: [F.work_status == "unemployed"],
        "unemployment",
        assumption=_l(
            "Unemployed: work status unemployed as registered. No population denominator is imported."
        ),
    ),
    Series(
        "SI_COV_WKINJRY",
        _l("Workers covered in case of employment injury"),
        _l("working people"),
        lambda q: [F.work_status.in_(EMPLOYED)],
        "employment_injury",
        assumption=_l("Employed: work status informal, self-employed, MSME worker or formal as registered."),
    ),
    Series(
        "SI_COV_PENSN",
        _l("Older persons receiving a pension"),
        _l("people aged 65 or more"),
        _age("65+"),
        "old_age",
        population_column="population",
        population_age="65+",
        assumption=_l(
            "Above retirement age: 65 or more reached during the year of the day (the year minus the year"
            " of birth), for both countries and sexes."
        ),
    ),
    Series(
        "SI_COV_VULN",
        _l("Vulnerable persons covered by social assistance"),
        _l("vulnerable people"),
        _vulnerable,
        "social_assistance",
        contributory=False,
        assumption=_l(
            "Vulnerable (ILO): children aged 0-14 (the age reached during the year), and older people"
            " without an open contributory enrolment; covered: a non-contributory general social"
            " assistance programme."
        ),
    ),
    Series(
        "SI_COV_POOR",
        _l("Poor persons covered by social assistance"),
        _l("poor people"),
        lambda q: [F.poverty_status == "poor"],
        "social_assistance",
        population_column="poor",
        assumption=_l(
            "Poor: poverty status poor as registered (not near-poor); population: the imported poor."
        ),
    ),
)
SERIES_CODES = tuple(s.code for s in SERIES)


@dataclass
class SeriesRow:
    code: str
    label: str
    basis: str  # "registered" | "population"
    sex: str  # "total" | "female" | "male"
    numerator: int
    denominator: int | None
    numerator_text: str
    denominator_text: str
    source: str
    year: int | None
    as_of: date
    districts: int | None = None

    @property
    def value(self) -> float | None:
        if not self.denominator:
            return None
        return round(100.0 * self.numerator / self.denominator, 2)


def figure_year(q: CoverageQuery, year: int | None = None) -> int | None:
    """The year of the denominators: the one asked for (or the as-of day's), else the latest one
    before it that has figures in the caller's area."""
    wanted = year or q.as_of.year
    return db.session.scalar(
        select(func.max(PopulationFigure.year)).where(PopulationFigure.year <= wanted, *_figure_area(q))
    )


def _figure_area(q: CoverageQuery) -> list[ColumnElement[bool]]:
    return [
        region_condition(PopulationFigure.region_id, q.filters),
        region_id_condition(PopulationFigure.region_id),
    ]


def _districts_condition(paths: list[str]) -> ColumnElement[bool]:
    """Registration rows in one of the regions with figures (or below them)."""
    under = select(Region.id).where(or_(*(Region.path.startswith(p, autoescape=True) for p in paths)))
    return F.region_id.in_(under)


def _count(q: CoverageQuery, series: Series, extra: list[ColumnElement[bool]]) -> tuple[int, int]:
    conds = [*registered_conditions(q), *series.group(q), *extra]
    covered = covered_condition(q, series.function, series.contributory)
    row = db.session.execute(select(func.count(), counted(covered)).where(*conds)).one()
    return int(row[0] or 0), int(row[1] or 0)


def series_rows(q: CoverageQuery, year: int | None = None) -> list[SeriesRow]:
    """Every series SRS can compute for the area, each basis and sex apart, with its labels."""
    rows: list[SeriesRow] = []
    fig_year = figure_year(q, year)
    figures: list[PopulationFigure] = []
    if fig_year is not None:
        figures = list(
            db.session.scalars(
                select(PopulationFigure).where(PopulationFigure.year == fig_year, *_figure_area(q))
            )
        )
    paths = sorted({db.session.get(Region, f.region_id).path for f in figures})  # type: ignore[union-attr]
    sources = ", ".join(sorted({f.source for f in figures}))
    day = q.as_of.isoformat()
    for series in SERIES:
        function = series.function
        covered_by = (
            _("an open enrolment in a programme of: %(f)s", f=FUNCTION_LABELS[function])
            if function
            else _("an open enrolment in any programme")
        )
        for sex in ("total", *SEXES) if series.by_sex else ("total",):
            sex_cond = [] if sex == "total" else [F.sex == sex]
            if series.registered_basis:
                registered, numerator = _count(q, series, sex_cond)
                rows.append(
                    SeriesRow(
                        series.code,
                        str(series.label),
                        "registered",
                        sex,
                        numerator,
                        registered,
                        _(
                            "Registered %(group)s with %(cover)s on %(day)s",
                            group=series.group_label,
                            cover=covered_by,
                            day=day,
                        ),
                        _("Registered %(group)s on %(day)s", group=series.group_label, day=day),
                        _("SRS register"),
                        q.as_of.year,
                        q.as_of,
                    )
                )
            if series.population_column is None or not figures:
                continue
            chosen = [
                f
                for f in figures
                if (sex == "total" or f.sex == sex)
                and (series.population_age is None or f.age_group == series.population_age)
            ]
            values = [getattr(f, series.population_column) for f in chosen]
            if not chosen or any(v is None for v in values):
                continue  # the column is not given for every district and group: not computable
            _registered, numerator = _count(q, series, [*sex_cond, _districts_condition(paths)])
            rows.append(
                SeriesRow(
                    series.code,
                    str(series.label),
                    "population",
                    sex,
                    numerator,
                    sum(values),
                    _(
                        "Registered %(group)s with %(cover)s on %(day)s, in the %(n)d regions with figures",
                        group=series.group_label,
                        cover=covered_by,
                        day=day,
                        n=len(paths),
                    ),
                    _(
                        "%(column)s %(year)d",
                        column=POPULATION_LABELS[series.population_column],
                        year=fig_year,
                    )
                    + (f" ({series.population_age})" if series.population_age else ""),
                    sources,
                    fig_year,
                    q.as_of,
                    len(paths),
                )
            )
    return rows


POPULATION_LABELS = {
    "population": _l("Population"),
    "poor": _l("Poor population"),
    "births": _l("Births"),
    "disabled": _l("People with disabilities"),
}
SERIES_HEADERS = [
    _l("Series"),
    _l("Description"),
    _l("Basis"),
    _l("Sex"),
    _l("Numerator"),
    _l("Denominator"),
    _l("Value (per cent)"),
    _l("Numerator is"),
    _l("Denominator is"),
    _l("Source"),
    _l("Year"),
    _l("Coverage on"),
]
# The basis column of the CSV is a code ("of_registered" / "of_population"); pages show these.
BASIS_LABELS = {"registered": _l("of registered"), "population": _l("of population")}


def csv_rows(rows: list[SeriesRow]) -> list[list[Any]]:
    return [
        [
            r.code,
            r.label,
            f"of_{r.basis}",
            r.sex,
            r.numerator,
            "" if r.denominator is None else r.denominator,
            "" if r.value is None else r.value,
            r.numerator_text,
            r.denominator_text,
            r.source,
            "" if r.year is None else r.year,
            r.as_of.isoformat(),
        ]
        for r in rows
    ]
