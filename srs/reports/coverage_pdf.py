"""The coverage section of the monthly summary PDF: who is covered among the people registered, by
ILO function, and the SDG 1.3.1 series SRS can compute, each with its numerator, denominator, source
and year. Figures "of registered" and "of population" are never in one table: each basis has its own
heading. The texts are made here, translated and formatted; pdf.render draws them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from srs.core import clock
from srs.programmes.enrolments import FUNCTION_LABELS
from srs.programmes.models import FUNCTIONS
from srs.reports import coverage, sdg
from srs.reports.filters import Filters


@dataclass
class CoverageSection:
    """One part of the section: a heading, a table (headers and rows) and lines of text below it."""

    heading: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _per_cent(numerator: int, denominator: int | None) -> str:
    if not denominator:
        return "–"
    return format_decimal(round(100.0 * numerator / denominator, 1)) + " %"


def as_of_day(month: date) -> date:
    """Coverage is read on the month's last day (today for the month running)."""
    return min(clock.month_end(month), clock.today())


def coverage_sections(filters: Filters, month: date) -> list[CoverageSection]:
    """The coverage parts of the monthly summary for the same filters (region, programme, dimensions)."""
    q = coverage.CoverageQuery(filters=filters, as_of=as_of_day(month))
    day = format_date(q.as_of, "medium")
    total = coverage.totals(q)
    functions = coverage.by_function(q)
    headers = [_("Function"), _("Registered"), _("Covered"), _("Per cent")]
    rows = [
        [
            _("At least one programme"),
            format_decimal(total["registered"]),
            format_decimal(total["covered"]),
            _per_cent(total["covered"], total["registered"]),
        ]
    ]
    for f in FUNCTIONS:
        pair = functions[f]
        rows.append(
            [
                str(FUNCTION_LABELS[f]),
                format_decimal(pair["registered"]),
                format_decimal(pair["covered"]),
                _per_cent(pair["covered"], pair["registered"]),
            ]
        )
    sections = [
        CoverageSection(
            _("Coverage among registered people on %(day)s", day=day),
            headers,
            rows,
            [
                _(
                    "Covered: an enrolment open on that day, or a referral completed with outcome "
                    "successful. Registered: people registered in SRS in this scope (alive, not merged)."
                )
            ],
        )
    ]
    series = sdg.series_rows(q)
    for basis in ("registered", "population"):
        chosen = [r for r in series if r.basis == basis]
        heading = (
            _("SDG 1.3.1 series, of registered people")
            if basis == "registered"
            else _("SDG 1.3.1 series, of the population")
        )
        section = CoverageSection(heading)
        if not chosen:
            section.lines.append(
                _("Not computable: no population figures are imported for this area.")
                if basis == "population"
                else _("No series.")
            )
        for r in chosen:
            value = "–" if r.value is None else format_decimal(r.value) + " %"
            sex = {"total": _("total"), "female": _("female"), "male": _("male")}.get(r.sex, r.sex)
            section.lines.append(f"{r.code} · {r.label} ({sex}): {value}")
            section.lines.append(
                _(
                    "Numerator %(n)s: %(text)s",
                    n=format_decimal(r.numerator),
                    text=r.numerator_text,
                )
            )
            section.lines.append(
                _(
                    "Denominator %(n)s: %(text)s",
                    n="–" if r.denominator is None else format_decimal(r.denominator),
                    text=r.denominator_text,
                )
            )
            section.lines.append(
                _("Source: %(source)s; year %(year)s", source=r.source or "–", year=r.year or "–")
            )
        sections.append(section)
    return sections
