"""The catalogue: programmes, and the whole catalogue (agencies too) as a YAML file.

Agencies themselves are in srs.agencies; rule versions in versions.py, screening in screening.py,
simulation in simulation.py.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from srs.accounts.models import User
from srs.agencies.models import Agency
from srs.agencies.services import CODE_PATTERN, PUBLIC_FIELDS, AgencyInput, list_agencies, save_agency
from srs.core import audit, clock
from srs.core.errors import ValidationFailed
from srs.extensions import db
from srs.programmes.models import DEFAULT_FUNCTIONS, FUNCTIONS, PROGRAMME_KINDS, Programme
from srs.programmes.rules import RuleError, check
from srs.programmes.versions import publish, save_draft
from srs.registry.fields import shared_field_choices

LANGUAGES = ("en", "id", "vi")


# Programmes --------------------------------------------------------------------------------------


@dataclass
class ProgrammeInput:
    code: str
    agency_code: str
    country: str
    kind: str
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    benefit: dict[str, str] = field(default_factory=dict)
    required_documents: list[str] = field(default_factory=list)
    shared_fields: list[str] = field(default_factory=list)
    active: bool = True
    active_from: date | None = None
    active_to: date | None = None
    functions: list[str] = field(default_factory=list)
    contributory: bool = False


def _programme_errors(data: ProgrammeInput, existing: Programme | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not CODE_PATTERN.match(data.code or ""):
        errors["code"] = [_("Use 2-40 capital letters, digits, dashes or dots (e.g. ID-PKH).")]
    else:
        other = db.session.scalar(select(Programme).where(Programme.code == data.code))
        if other is not None and other is not existing:
            errors["code"] = [_("Another programme already has the code %(code)s.", code=data.code)]
    agency = db.session.scalar(select(Agency).where(Agency.code == data.agency_code))
    if agency is None:
        errors["agency"] = [_("No agency has the code %(code)s.", code=data.agency_code)]
    elif agency.country != data.country:
        errors["agency"] = [
            _("The agency works in %(country)s, not in the programme's country.", country=agency.country)
        ]
    if not re.match(r"^[A-Z]{2}$", data.country or ""):
        errors["country"] = [_("The country is a two-letter code such as ID or VN.")]
    if data.kind not in PROGRAMME_KINDS:
        errors["kind"] = [_("Choose the kind of programme.")]
    if not data.functions:
        data.functions = list(DEFAULT_FUNCTIONS.get(data.kind, ()))
    if any(f not in FUNCTIONS for f in data.functions):
        unknown_functions = ", ".join(str(f) for f in data.functions if f not in FUNCTIONS)
        errors["functions"] = [_("Unknown functions: %(functions)s.", functions=unknown_functions)]
    if not (data.names.get("en") or "").strip():
        errors["name_en"] = [_("Give at least the English name.")]
    offered = shared_field_choices()
    unknown = [f for f in data.shared_fields if f not in offered]
    if unknown:
        errors["shared_fields"] = [_("Unknown client fields: %(fields)s.", fields=", ".join(unknown))]
    if data.active_from and data.active_to and data.active_from > data.active_to:
        errors["active_to"] = [_("The end date is before the start date.")]
    return errors


def save_programme(data: ProgrammeInput, programme: Programme | None = None) -> Programme:
    """Create or update a programme's description (its rules change through versions)."""
    data.code = (data.code or "").strip().upper()
    data.country = (data.country or "").strip().upper()
    errors = _programme_errors(data, programme)
    if errors:
        raise ValidationFailed(_("The programme could not be saved."), errors)
    created = programme is None
    # _programme_errors refused an unknown agency code: there is one.
    agency = db.session.execute(select(Agency).where(Agency.code == data.agency_code)).scalar_one()
    if programme is None:
        programme = Programme(code=data.code)
    programme.code = data.code
    programme.agency = agency
    programme.country = data.country
    programme.kind = data.kind
    programme.names = {k: v.strip() for k, v in data.names.items() if v and v.strip()}
    programme.descriptions = {k: v.strip() for k, v in data.descriptions.items() if v and v.strip()}
    programme.benefit = {k: v.strip() for k, v in data.benefit.items() if v and v.strip()}
    programme.required_documents = [d.strip() for d in data.required_documents if d.strip()]
    programme.shared_fields = list(data.shared_fields)
    programme.active = data.active
    programme.active_from = data.active_from
    programme.active_to = data.active_to
    programme.functions = [f for f in FUNCTIONS if f in data.functions]  # one order, no repeats
    programme.contributory = bool(data.contributory)
    db.session.add(programme)
    db.session.flush()
    audit.record(
        "programme.create" if created else "programme.update", "programme", programme.id, code=programme.code
    )
    return programme


def list_programmes(country: str | None = None) -> list[Programme]:
    stmt = select(Programme).order_by(Programme.country, Programme.code)
    if country:
        stmt = stmt.where(Programme.country == country.upper())
    return list(db.session.scalars(stmt))


def get_programme_by_code(code: str) -> Programme | None:
    return db.session.scalar(select(Programme).where(Programme.code == code))


def is_active(programme: Programme, on: date) -> bool:
    return bool(
        programme.active
        and programme.current_version_id is not None
        and (programme.active_from is None or programme.active_from <= on)
        and (programme.active_to is None or programme.active_to >= on)
    )


def active_programmes(country: str, on: date) -> list[Programme]:
    """The programmes in force in ``country`` on ``on``: active, within their dates, with a rule."""
    stmt = (
        select(Programme)
        .where(
            Programme.country == country,
            Programme.active.is_(True),
            Programme.current_version_id.is_not(None),
            or_(Programme.active_from.is_(None), Programme.active_from <= on),
            or_(Programme.active_to.is_(None), Programme.active_to >= on),
        )
        .order_by(Programme.code)
        # Every caller prepares their rules: the versions in one more query, not one per programme.
        .options(selectinload(Programme.current_version))
    )
    return list(db.session.scalars(stmt))


# YAML catalogue ----------------------------------------------------------------------------------


def export_yaml() -> str:
    """The whole catalogue (agencies, programmes, rules in force) as YAML; webhook secrets stay out."""
    agencies = [
        {
            "code": a.code,
            "name": a.name,
            "country": a.country,
            "contact_email": a.contact_email,
            "contact_phone": a.contact_phone,
            **{name: getattr(a, name) for name in PUBLIC_FIELDS},
            "channel": a.channel,
            "webhook_url": a.webhook_url,
            "response_days": a.response_days,
            "active": a.active,
        }
        for a in list_agencies()
    ]
    programmes = []
    for p in list_programmes():
        version = p.current_version
        programmes.append(
            {
                "code": p.code,
                "agency": p.agency.code,
                "country": p.country,
                "kind": p.kind,
                "functions": list(p.functions or []),
                "contributory": p.contributory,
                "names": dict(p.names),
                "descriptions": dict(p.descriptions),
                "benefit": dict(p.benefit),
                "required_documents": list(p.required_documents),
                "shared_fields": list(p.shared_fields),
                "active": p.active,
                "active_from": p.active_from.isoformat() if p.active_from else None,
                "active_to": p.active_to.isoformat() if p.active_to else None,
                "rule": {"criteria": version.criteria, "source": version.source, "note": version.note}
                if version
                else None,
            }
        )
    return yaml.safe_dump(
        {"agencies": agencies, "programmes": programmes}, allow_unicode=True, sort_keys=False
    )


def _date_or_error(value: Any, where: str, errors: list[str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return clock.parse_date(str(value))
    except ValueError:
        errors.append(
            _("%(where)s: \u201c%(value)s\u201d is not a date (YYYY-MM-DD).", where=where, value=value)
        )
        return None


@dataclass
class ImportReport:
    errors: list[str] = field(default_factory=list)
    agencies: int = 0
    programmes: int = 0
    versions: int = 0


def _functions(raw: dict[str, Any], existing: Programme | None) -> list[str]:
    """A catalogue entry's functions: a list (or one name); a file from before they existed keeps the
    programme's, so an old export imports unchanged."""
    value = raw.get("functions")
    if value is None:
        return list(existing.functions or []) if existing is not None else []  # then: by kind
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def import_yaml(text: str, user: User) -> ImportReport:
    """Import a catalogue: everything or nothing. Every error is listed (with where it is) and then
    nothing changes. Rules that differ from the version in force become new published versions."""
    report = ImportReport()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        report.errors.append(_("The file is not valid YAML: %(error)s", error=str(exc).splitlines()[0]))
        return report
    except RecursionError:
        report.errors.append(_("The file is nested too deeply to be a catalogue."))
        return report
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("agencies", []), list)
        or not isinstance(data.get("programmes", []), list)
    ):
        report.errors.append(
            _("The file must have the lists \u201cagencies\u201d and \u201cprogrammes\u201d.")
        )
        return report
    savepoint = db.session.begin_nested()
    try:
        for i, raw in enumerate(data.get("agencies") or []):
            where = f"agencies[{i}]"
            if not isinstance(raw, dict):
                report.errors.append(_("%(where)s: must be a mapping.", where=where))
                continue
            existing = db.session.scalar(
                select(Agency).where(Agency.code == str(raw.get("code", "")).upper())
            )
            try:
                save_agency(
                    AgencyInput(
                        code=str(raw.get("code") or ""),
                        name=str(raw.get("name") or ""),
                        country=str(raw.get("country") or ""),
                        contact_email=raw.get("contact_email"),
                        contact_phone=raw.get("contact_phone"),
                        **{
                            name: str(raw[name]) if raw.get(name) is not None else None
                            for name in PUBLIC_FIELDS
                        },
                        channel=str(raw.get("channel") or "inbox"),
                        webhook_url=raw.get("webhook_url"),
                        webhook_secret=raw.get("webhook_secret"),
                        response_days=raw.get("response_days")
                        if isinstance(raw.get("response_days"), int)
                        else None,
                        active=bool(raw.get("active", True)),
                    ),
                    existing,
                )
                report.agencies += 1
            except ValidationFailed as exc:
                report.errors.extend(_field_errors(where, exc))
        db.session.flush()
        for i, raw in enumerate(data.get("programmes") or []):
            where = f"programmes[{i}]"
            if not isinstance(raw, dict):
                report.errors.append(_("%(where)s: must be a mapping.", where=where))
                continue
            where = f"programmes[{i}] ({raw.get('code')})"
            date_errors: list[str] = []
            active_from = _date_or_error(raw.get("active_from"), where + ".active_from", date_errors)
            active_to = _date_or_error(raw.get("active_to"), where + ".active_to", date_errors)
            report.errors.extend(date_errors)
            existing_programme = db.session.scalar(
                select(Programme).where(Programme.code == str(raw.get("code", "")).upper())
            )
            try:
                programme = save_programme(
                    ProgrammeInput(
                        code=str(raw.get("code") or ""),
                        agency_code=str(raw.get("agency") or ""),
                        country=str(raw.get("country") or ""),
                        kind=str(raw.get("kind") or ""),
                        functions=_functions(raw, existing_programme),
                        contributory=bool(
                            raw.get(
                                "contributory",
                                existing_programme.contributory if existing_programme else False,
                            )
                        ),
                        names=_texts(raw.get("names")),
                        descriptions=_texts(raw.get("descriptions")),
                        benefit=_texts(raw.get("benefit")),
                        required_documents=[str(d) for d in raw.get("required_documents") or []],
                        shared_fields=[str(f) for f in raw.get("shared_fields") or []],
                        active=bool(raw.get("active", True)),
                        active_from=active_from,
                        active_to=active_to,
                    ),
                    existing_programme,
                )
                report.programmes += 1
            except ValidationFailed as exc:
                report.errors.extend(_field_errors(where, exc))
                programme = None
            rule = raw.get("rule")
            if rule is None:
                continue
            if not isinstance(rule, dict) or "criteria" not in rule:
                report.errors.append(_("%(where)s.rule: needs \u201ccriteria\u201d.", where=where))
                continue
            try:
                tree = check(rule["criteria"])
            except RuleError as exc:
                report.errors.extend(f"{where}.rule.{path}: {message}" for path, message in exc.errors)
                continue
            if programme is None or report.errors:
                continue
            current = programme.current_version
            if current is not None and current.criteria == tree and current.source == rule.get("source"):
                continue
            draft = save_draft(programme, tree, user, rule.get("note"), rule.get("source"))
            # The file is what the admin reviewed: its rule becomes the draft and goes in force as is.
            publish(draft, user, draft.revision, rescreen=current is not None)
            report.versions += 1
    except Exception:
        savepoint.rollback()
        raise
    if report.errors:
        savepoint.rollback()
        report.agencies = report.programmes = report.versions = 0
    else:
        savepoint.commit()
        audit.record(
            "catalogue.import",
            "catalogue",
            None,
            agencies=report.agencies,
            programmes=report.programmes,
            versions=report.versions,
        )
    return report


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    return {}


def _field_errors(where: str, exc: ValidationFailed) -> list[str]:
    return [f"{where}.{name}: {message}" for name, messages in exc.errors.items() for message in messages]
