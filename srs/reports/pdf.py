"""The monthly summary per district as a PDF, drawn in-process with fpdf2.

The PDF shows exactly what the printable page (templates/reports/monthly.html) shows: the same rows
from ``services.monthly_by_district``, the same totals, numbers and dates formatted for the user's
language. Indonesian and Vietnamese names ("Hà Nội", "Xã Sóc Sơn") need a Unicode font, and a fresh
machine may have none installed, so DejaVu Sans ships in srs/static/fonts with its licence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from fpdf import FPDF, FontFace
from sqlalchemy import select

from srs.accounts.models import User
from srs.core import clock
from srs.extensions import db
from srs.referrals import overdue
from srs.regions.models import Region
from srs.regions.scope import region_paths, sees_everything
from srs.registry.fields import report_dimensions
from srs.reports.filters import Filters, dimension_options, param_of
from srs.reports.services import DISTRICT_FIGURES

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT = "DejaVuSans"
PDF_MIME = "application/pdf"
# Column shares of the page width: the district's name gets the room, the figures share the rest.
NAME_WIDTH, FIGURES_WIDTH = 40, 60
# More figures than fit a portrait page's width (headings of about 20 mm each): the page turns.
PORTRAIT_FIGURES = 4
HEADER_FILL = (230, 236, 242)


@dataclass
class MonthlyDocument:
    """Every text of the PDF, already translated and formatted (the drawing knows no gettext)."""

    title: str
    scope: str
    generated: str
    headers: list[str]
    rows: list[list[str]]
    total: list[str]
    filters: list[str] = field(default_factory=list)
    language: str = "en"
    page_label: str = "Page %(page)s of %(pages)s"
    # After the table: the coverage section (coverage_pdf.CoverageSection: heading, headers, rows, lines).
    sections: list[Any] = field(default_factory=list)


class _SummaryPDF(FPDF):
    def __init__(self, page_label: str, orientation: str = "P", page_format: Any = "A4") -> None:
        super().__init__(orientation=orientation, unit="mm", format=page_format)
        self._page_label = page_label

    def footer(self) -> None:
        # "{nb}" is fpdf2's alias for the page count, filled in when the document is closed.
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(90, 90, 90)
        text = self._page_label % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(0, 6, text, align="C")


def new_document(
    title: str, subject: str, language: str, page_label: str, orientation: str = "P", page_format: Any = "A4"
) -> FPDF:
    """A document (A4 unless ``page_format`` says otherwise) with SRS's Unicode font, numbered pages and
    its first page open.

    The monthly summary, the copy of a person's record (srs/privacy/export.py) and the referral letter
    (letter.py) all start here.
    """
    pdf = _SummaryPDF(page_label, orientation, page_format)
    pdf.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.set_title(title)
    pdf.set_subject(subject)
    pdf.set_creator("SRS")
    pdf.set_lang(language)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    return pdf


def render(doc: MonthlyDocument) -> bytes:
    """The PDF bytes of a monthly summary; an empty ``rows`` still gives the headers and the total."""
    figures = max(len(doc.headers) - 1, 1)
    pdf = new_document(
        doc.title, doc.scope, doc.language, doc.page_label, "P" if figures <= PORTRAIT_FIGURES else "L"
    )

    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(0, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    pdf.multi_cell(0, 6, doc.scope, new_x="LMARGIN", new_y="NEXT")
    for line in doc.filters:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(0, 5, doc.generated, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)

    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=(NAME_WIDTH, *([FIGURES_WIDTH / figures] * figures)),
        text_align=("LEFT", *(["RIGHT"] * figures)),
        headings_style=FontFace(emphasis="BOLD", fill_color=HEADER_FILL),
        line_height=6,
        padding=1.5,
    ) as table:
        table.row(doc.headers)
        for values in doc.rows:
            table.row(values)
        row = table.row()
        for value in doc.total:
            row.cell(value, style=bold)
    for section in doc.sections:
        _draw_section(pdf, section)
    return bytes(pdf.output())


def _draw_section(pdf: FPDF, section: Any) -> None:
    """A heading, its table when it has one, and its lines."""
    pdf.ln(6)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 7, section.heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    if section.headers:
        columns = len(section.headers) - 1
        with pdf.table(
            col_widths=(NAME_WIDTH, *([FIGURES_WIDTH / columns] * columns)),
            text_align=("LEFT", *(["RIGHT"] * columns)),
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADER_FILL),
            line_height=5,
            padding=1,
        ) as table:
            table.row(section.headers)
            for values in section.rows:
                table.row(values)
    for line in section.lines:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")


def _number(value: int) -> str:
    return format_decimal(value)


def _scope_text(filters: Filters) -> str:
    if filters.region is not None:
        return f"{_('Region')}: {filters.region.name} ({filters.region.code})"
    if sees_everything():
        return _("All my regions")
    mine = db.session.scalars(
        select(Region).where(Region.path.in_(region_paths())).order_by(Region.path)
    ).all()
    names = ", ".join(f"{r.name} ({r.code})" for r in mine)
    return f"{_('All my regions')}: {names}" if names else _("All my regions")


def _filter_lines(filters: Filters) -> list[str]:
    """The filters besides month and region, as the filter form names them (none: no line)."""
    parts: list[str] = []
    if filters.programme is not None:
        parts.append(f"{_('Programme')}: {filters.programme.name_in(str(get_locale()))}")
    for dimension in report_dimensions():
        value = getattr(filters, param_of(dimension))
        if value is None:
            continue
        if dimension.type == "boolean":
            value = "yes" if value else "no"
        label = dict(dimension_options(dimension)).get(value, value)
        title = dimension.report.label if dimension.report else dimension.label
        parts.append(f"{title}: {label}")
    return [" · ".join(parts)] if parts else []


def monthly_document(
    filters: Filters,
    month: date,
    rows: list[dict[str, Any]],
    totals: dict[str, int],
    user: User,
    now: datetime | None = None,
) -> MonthlyDocument:
    """The texts of the monthly summary PDF in the current user's language (needs a request context)."""
    keys = DISTRICT_FIGURES
    generated_at = format_datetime(now or clock.now(), "medium")
    who = getattr(user, "full_name", None) or getattr(user, "username", "")
    return MonthlyDocument(
        title=f"{_('Monthly summary per district')}: {format_date(month, 'MMMM yyyy')}",
        scope=_scope_text(filters),
        filters=_filter_lines(filters),
        generated=_("Generated %(when)s by %(user)s", when=generated_at, user=who),
        headers=[
            _("District"),
            _("Clients registered"),
            _("Referrals made"),
            _("Successful"),
            _("Overdue referrals (now)"),
            *(_("%(measure)s (now)", measure=overdue.LABELS[kind]) for kind in overdue.KINDS),
        ],
        rows=[[f"{r['region'].name} ({r['region'].code})", *(_number(r[k]) for k in keys)] for r in rows],
        total=[_("Total"), *(_number(totals[k]) for k in keys)],
        language=str(get_locale()),
        # The page count is known only at the end: %(pages)s becomes fpdf2's "{nb}" alias.
        page_label=_("Page %(page)s of %(pages)s", page="%(page)s", pages="%(pages)s"),
    )
