"""A programme's rate versions: drafts, publishing on an effective date, discarding.

Like rule versions (versions.py): an admin saves a draft (one at a time per programme), publishes it
with the date it takes effect, or discards it; a published version never changes. Which published
version applies on a day is read from the clock (estimates.rates_in_force), so a change published
ahead takes effect on its date. Services never commit.
"""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.extensions import db
from srs.programmes.estimates import SCHEMES, estimate_for, rates_in_force
from srs.programmes.fields import Facts
from srs.programmes.models import Programme, RateVersion

# What each scheme's table must give (the calculation reads these).
REQUIRED: dict[str, tuple[str, ...]] = {
    "bpjstk_bpu": ("jkk_percent", "jkm_monthly"),
    "jkn": ("classes",),
    "vn_voluntary_si": ("percent", "min_income", "support"),
    "vn_household_hi": ("percent", "base_salary", "member_shares"),
}
CURRENCIES = ("IDR", "VND")


def versions_of(programme: Programme) -> list[RateVersion]:
    stmt = select(RateVersion).where(RateVersion.programme_id == programme.id)
    return list(db.session.scalars(stmt.order_by(RateVersion.number.desc())))


def draft_of(programme: Programme) -> RateVersion | None:
    stmt = select(RateVersion).where(RateVersion.programme_id == programme.id, RateVersion.status == "draft")
    return db.session.scalars(stmt.order_by(RateVersion.number.desc())).first()


def in_force(programme: Programme, on: date | None = None) -> RateVersion | None:
    return rates_in_force([programme.id], on or clock.today()).get(programme.id)


def _trial(scheme: str, params: dict[str, Any], currency: str) -> None:
    """Run the calculation once on people at the edges: a table it cannot read fails here, not at a
    screening."""
    for poverty, income, size in (("poor", None, 1), ("near_poor", 3_000_000, 5), ("not_poor", 10**9, 2)):
        client = SimpleNamespace(
            monthly_income=income,
            household_size=size,
            poverty_status=poverty,
            extra={},
            region=None,
            ethnic_minority=poverty == "not_poor",
        )
        version = RateVersion(
            scheme=scheme, params=params, currency=currency, source="", number=0, effective_from=date.min
        )
        estimate_for(version, Facts(client=client, on=date.min))


def parse_params(scheme: str, raw: Any, currency: str) -> dict[str, Any]:
    """The table from the form's JSON text (or an object), checked; ValidationFailed says what is wrong."""
    if scheme not in SCHEMES:
        raise ValidationFailed(_("Choose a rate scheme."), {"scheme": [_("Choose a rate scheme.")]})
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            message = _("The table is not valid JSON: %(error)s", error=str(exc))
            raise ValidationFailed(message, {"params": [message]}) from exc
    if not isinstance(raw, dict):
        message = _("The table must be a JSON object.")
        raise ValidationFailed(message, {"params": [message]})
    missing = [key for key in REQUIRED[scheme] if key not in raw]
    if missing:
        message = _("The table lacks: %(keys)s.", keys=", ".join(missing))
        raise ValidationFailed(message, {"params": [message]})
    try:
        _trial(scheme, raw, currency)
    except (KeyError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError) as exc:
        message = _(
            "The table cannot be used for this scheme (%(error)s).", error=str(exc) or type(exc).__name__
        )
        raise ValidationFailed(message, {"params": [message]}) from exc
    return raw


def save_draft(
    programme: Programme,
    *,
    scheme: str,
    params: Any,
    currency: str,
    effective_from: date | None,
    source: str | None,
    note: str | None,
    user: Any,
) -> RateVersion:
    """Save the programme's rate draft (a new number when there is none); nothing saved on bad input."""
    errors: dict[str, list[str]] = {}
    if currency not in CURRENCIES:
        errors["currency"] = [_("Choose IDR or VND.")]
    if effective_from is None:
        errors["effective_from"] = [_("Give the date the rates take effect (YYYY-MM-DD).")]
    if not (source or "").strip():
        errors["source"] = [_("Name the regulation the rates come from.")]
    try:
        table = parse_params(scheme, params, currency)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors or effective_from is None:
        raise ValidationFailed(_("The rates have errors; nothing was saved."), errors)
    draft = draft_of(programme)
    if draft is None:
        number = (
            db.session.scalar(
                select(func.max(RateVersion.number)).where(RateVersion.programme_id == programme.id)
            )
            or 0
        ) + 1
        draft = RateVersion(programme_id=programme.id, number=number, status="draft")
        db.session.add(draft)
    draft.scheme, draft.params, draft.currency = scheme, table, currency
    draft.effective_from = effective_from
    draft.source = (source or "").strip()
    draft.note = (note or "").strip() or None
    draft.created_by_id = getattr(user, "id", None)
    draft.created_at = clock.now()
    db.session.flush()
    audit.record("rates.draft", "rate_version", draft.id, programme=programme.code, number=draft.number)
    return draft


def publish(version: RateVersion, user: Any) -> None:
    """Put a draft on record: it applies from its effective date (today or later, or back-dated)."""
    if version.status != "draft":
        raise Conflict(_("Only a draft can be published; this version is %(status)s.", status=version.status))
    version.status = "published"
    version.published_at = clock.now()
    version.published_by_id = getattr(user, "id", None)
    db.session.flush()
    audit.record(
        "rates.publish",
        "rate_version",
        version.id,
        programme=version.programme.code,
        number=version.number,
        effective_from=version.effective_from.isoformat(),
    )


def discard(version: RateVersion) -> None:
    if version.status != "draft":
        raise Conflict(_("Only a draft can be discarded."))
    version.status = "discarded"
    db.session.flush()
    audit.record(
        "rates.discard", "rate_version", version.id, programme=version.programme.code, number=version.number
    )
