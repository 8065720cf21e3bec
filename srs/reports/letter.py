"""The referral letter the person takes home, as a PDF (A4 or phone-sized) in the person's language.

It says where the person is referred to and how to get there: the programme, the agency and how to
reach it, what to bring, the tracking number the agency checks in SRS, the date a decision is due,
what the programme would cost (the screening's estimate) and the office that wrote it. The texts
are made first, translated and formatted (``letter_document``); the drawing knows no gettext.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from srs.accounts.models import User
from srs.core import clock
from srs.extensions import db
from srs.programmes.estimates import explain, shown_estimate
from srs.programmes.models import Programme
from srs.referrals.models import Referral
from srs.registry.models import Client
from srs.reports.pdf import FONT, new_document

LANGUAGES = ("en", "id", "vi")
COUNTRY_LANGUAGE = {"ID": "id", "VN": "vi"}
# Page formats: A4, and a narrow page that reads on a phone without zooming (mm).
FORMATS: dict[str, Any] = {"a4": "A4", "phone": (90, 180)}


@dataclass
class LetterDocument:
    """Every text of the letter, translated and formatted."""

    title: str
    language: str
    lines: list[tuple[str, list[str]]] = field(default_factory=list)  # (heading, lines)
    page_label: str = "Page %(page)s of %(pages)s"


def letter_language(referral: Referral, asked: str | None) -> str:
    """The language asked for, else the language of the person's country."""
    if asked in LANGUAGES:
        return str(asked)
    client = db.session.get_one(Client, referral.client_id)
    return COUNTRY_LANGUAGE.get(client.region.country if client.region else "", "en")


def referral_estimate(referral: Referral) -> dict[str, Any] | None:
    """The estimate kept on the referral (what the person was shown when it was made); for a referral
    made before referrals kept one, that of its screening, else of the person's latest screening."""
    if referral.estimate:
        return referral.estimate
    return shown_estimate(referral.client_id, referral.programme_id, referral.screening_id)


def _office(user: User | None) -> list[str]:
    if user is None:
        return [_("Issued by SRS")]
    regions = ", ".join(sorted(r.name for r in user.regions))
    lines = [user.full_name or user.username]
    if regions:
        lines.append(regions)
    return lines


def letter_document(referral: Referral, language: str) -> LetterDocument:
    """The letter's texts in ``language``."""
    client = db.session.get_one(Client, referral.client_id)
    programme = db.session.get_one(Programme, referral.programme_id)
    agency = programme.agency
    officer = db.session.get(User, referral.created_by_id) if referral.created_by_id else None
    estimate = referral_estimate(referral)
    with force_locale(language):
        doc = LetterDocument(
            title=_("Referral letter"), language=language, page_label=_("Page %(page)s of %(pages)s")
        )
        doc.lines.append(
            (
                _("For %(name)s", name=client.full_name),
                [
                    _("Tracking number: %(number)s", number="#" + str(referral.id)),
                    _("Written on %(day)s", day=format_date(referral.created_at, "long")),
                    _("A decision is due by %(day)s", day=format_date(referral.due_at, "long"))
                    if referral.due_at
                    else _("No due date"),
                ],
            )
        )
        contact = [agency.name]
        if agency.address:
            contact.append(_("Address: %(address)s", address=agency.address))
        phone = agency.public_phone or agency.contact_phone
        if phone:
            contact.append(_("Phone: %(phone)s", phone=phone))
        email = agency.public_email or agency.contact_email
        if email:
            contact.append(_("E-mail: %(email)s", email=email))
        if agency.opening_hours:
            contact.append(_("Opening hours: %(hours)s", hours=agency.opening_hours))
        doc.lines.append(
            (_("You are referred to %(programme)s", programme=programme.name_in(language)), contact)
        )
        doc.lines.append(
            (_("What to bring"), list(programme.required_documents or []) or [_("Your identity document")])
        )
        if estimate:
            rates = _(
                "Rates: %(source)s (version %(number)s)",
                source=estimate.get("source") or "",
                number=estimate.get("rate_version") or "-",
            )
            doc.lines.append((_("What it would cost"), [*explain(estimate), rates]))
        doc.lines.append((_("Your officer"), _office(officer)))
        doc.lines.append(
            (
                "",
                [
                    _(
                        "Show this letter at the agency. Staff there can check the tracking number in SRS. "
                        "Printed on %(day)s.",
                        day=format_date(clock.now(), "medium"),
                    )
                ],
            )
        )
    return doc


def render_letter(doc: LetterDocument, size: str = "a4") -> bytes:
    """The letter's PDF bytes, on A4 or on a phone-sized page."""
    page_format = FORMATS.get(size, "A4")
    pdf = new_document(doc.title, doc.title, doc.language, doc.page_label, "P", page_format)
    small = page_format != "A4"
    if small:
        pdf.set_margins(6, 6, 6)
    pdf.set_font(FONT, "B", 13 if small else 16)
    pdf.multi_cell(0, 8, doc.title, new_x="LMARGIN", new_y="NEXT")
    for heading, lines in doc.lines:
        pdf.ln(2)
        if heading:
            pdf.set_font(FONT, "B", 10 if small else 12)
            pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=9 if small else 10)
        for line in lines:
            if line:
                pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
