"""Agencies, programmes, rule versions, screening, simulation and the YAML catalogue.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from srs.core import audit, outbound
from srs.core.errors import Conflict, Forbidden, ValidationFailed
from srs.core.ids import parse_id
from srs.core.lengths import check_length
from srs.core.models import utcnow
from srs.core.queue import enqueue_after_commit
from srs.core.scope import region_id_condition
from srs.extensions import db
from srs.programmes.compiler import compile_outcome
from srs.programmes.fields import facts_for
from srs.programmes.models import (
    DELIVERY_CHANNELS,
    PROGRAMME_KINDS,
    Agency,
    EligibilityNotice,
    Programme,
    RescreenRun,
    RuleVersion,
    Screening,
    ScreeningResult,
)
from srs.programmes.rules import PreparedRule, RuleError, check, criterion_text, fast_i18n, node_kind
from srs.regions.models import Region
from srs.registry.models import Client

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-_.]{1,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LANGUAGES = ("en", "id", "vi")
SHARED_FIELD_CHOICES = (
    "full_name",
    "id_number",
    "sex",
    "date_of_birth",
    "phone",
    "address",
    "region",
    "occupation",
    "work_status",
    "monthly_income",
    "household_size",
    "disability",
    "in_education",
    "poverty_status",
    "welfare_decile",
    "enrolments",
)


# Agencies ----------------------------------------------------------------------------------------


@dataclass
class AgencyInput:
    code: str
    name: str
    country: str
    contact_email: str | None = None
    contact_phone: str | None = None
    channel: str = "inbox"
    webhook_url: str | None = None
    webhook_secret: str | None = None  # None keeps the stored secret
    response_days: int | None = 10
    active: bool = True


def _agency_errors(data: AgencyInput, existing: Agency | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not CODE_PATTERN.match(data.code or ""):
        errors["code"] = [_("Use 2-40 capital letters, digits, dashes or dots (e.g. BPJSTK).")]
    else:
        other = db.session.scalar(select(Agency).where(Agency.code == data.code))
        if other is not None and other is not existing:
            errors["code"] = [_("Another agency already has the code %(code)s.", code=data.code)]
    if not (data.name or "").strip():
        errors["name"] = [_("Give the agency's name.")]
    if not re.match(r"^[A-Z]{2}$", data.country or ""):
        errors["country"] = [_("The country is a two-letter code such as ID or VN.")]
    if data.channel not in DELIVERY_CHANNELS:
        errors["channel"] = [_("Choose how referrals reach the agency.")]
    if data.contact_email and not EMAIL_PATTERN.match(data.contact_email):
        errors["contact_email"] = [_("This is not an e-mail address.")]
    if data.channel == "email" and not data.contact_email:
        errors["contact_email"] = [_("Referrals by e-mail need the agency's e-mail address.")]
    if data.channel == "webhook" and not re.match(r"^https?://[^\s/]+", data.webhook_url or ""):
        errors["webhook_url"] = [_("Give the webhook's address, starting with https://.")]
    elif data.webhook_url:
        # The outbound guard's verdict now, with its reason; it checks again at every delivery.
        try:
            outbound.check_url(data.webhook_url)
        except outbound.OutboundRefused as exc:
            errors["webhook_url"] = [exc.message]
    if data.channel == "webhook":
        has_secret = data.webhook_secret or (existing is not None and existing.webhook_secret)
        if not has_secret:
            errors["webhook_secret"] = [
                _("A webhook needs a secret to sign its messages (16 characters or more).")
            ]
        elif data.webhook_secret is not None and len(data.webhook_secret) < 16:
            errors["webhook_secret"] = [_("The secret must have at least 16 characters.")]
    if data.response_days is None or not 1 <= data.response_days <= 90:
        errors["response_days"] = [_("The response deadline is 1 to 90 working days.")]
    too_long: dict[str, list[str]] = {}
    for name in ("name", "contact_email", "contact_phone", "webhook_url", "webhook_secret"):
        check_length(getattr(data, name), getattr(Agency, name), name, too_long)
    errors.update(too_long)  # the length is the first thing to fix in those fields
    return errors


def save_agency(data: AgencyInput, agency: Agency | None = None) -> Agency:
    """Create or update an agency; ValidationFailed lists every problem."""
    data.code = (data.code or "").strip().upper()
    data.country = (data.country or "").strip().upper()
    errors = _agency_errors(data, agency)
    if errors:
        raise ValidationFailed(_("The agency could not be saved."), errors)
    created = agency is None
    if agency is None:
        agency = Agency(code=data.code)
    agency.code = data.code
    agency.name = data.name.strip()
    agency.country = data.country
    agency.contact_email = data.contact_email or None
    agency.contact_phone = data.contact_phone or None
    agency.channel = data.channel
    agency.webhook_url = data.webhook_url or None
    if data.webhook_secret:
        agency.webhook_secret = data.webhook_secret
    agency.response_days = int(data.response_days or 10)
    agency.active = data.active
    db.session.add(agency)
    db.session.flush()
    audit.record("agency.create" if created else "agency.update", "agency", agency.id, code=agency.code)
    return agency


def list_agencies(country: str | None = None) -> list[Agency]:
    stmt = select(Agency).order_by(Agency.country, Agency.code)
    if country:
        stmt = stmt.where(Agency.country == country)
    return list(db.session.scalars(stmt))


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
    if not (data.names.get("en") or "").strip():
        errors["name_en"] = [_("Give at least the English name.")]
    unknown = [f for f in data.shared_fields if f not in SHARED_FIELD_CHOICES]
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
    agency = db.session.scalar(select(Agency).where(Agency.code == data.agency_code))
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
    )
    return list(db.session.scalars(stmt))


# Rule versions -----------------------------------------------------------------------------------


def versions_of(programme: Programme) -> list[RuleVersion]:
    stmt = (
        select(RuleVersion)
        .where(RuleVersion.programme_id == programme.id)
        .order_by(RuleVersion.number.desc())
    )
    return list(db.session.scalars(stmt))


def draft_of(programme: Programme) -> RuleVersion | None:
    stmt = select(RuleVersion).where(RuleVersion.programme_id == programme.id, RuleVersion.status == "draft")
    return db.session.scalars(stmt.order_by(RuleVersion.number.desc())).first()


def rule_errors_as_fields(error: RuleError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for path, message in error.errors:
        errors.setdefault(f"criteria.{path}", []).append(message)
    return errors


def rule_countries(user: Any) -> set[str] | None:
    """The countries whose programmes' rules ``user`` may draft: None for every country (admins).

    A supervisor drafts for the countries of the regions they cover; nobody else drafts.
    """
    role = getattr(user, "role", None)
    if role == "admin":
        return None
    if role == "supervisor":
        return {region.country for region in user.regions}
    return set()


def can_edit_rules(user: Any, programme: Programme) -> bool:
    """Whether ``user`` may save drafts of ``programme``'s rules (the policy beside the aggregate)."""
    countries = rule_countries(user)
    return countries is None or programme.country in countries


def _flush_rule_version() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            _("Someone changed this draft at the same moment. Reload the page and check it again.")
        ) from exc


def save_draft(
    programme: Programme, criteria: Any, user: Any, note: str | None = None, source: str | None = None
) -> RuleVersion:
    """Save ``criteria`` as the programme's draft (a new version number; published versions never change).

    Each save of the draft counts its ``revision`` up. An invalid tree raises ValidationFailed with a
    message per criterion; nothing is saved and the version in force stays. A supervisor outside
    the programme's country gets Forbidden (``user`` None: a command or a test, no person).
    """
    if user is not None and not can_edit_rules(user, programme):
        raise Forbidden(
            _(
                "You may draft rules only for programmes of the countries you cover; "
                "%(code)s is a programme of %(country)s.",
                code=programme.code,
                country=programme.country,
            )
        )
    try:
        tree = check(criteria)
    except RuleError as exc:
        raise ValidationFailed(
            _("The rule has errors; nothing was saved."), rule_errors_as_fields(exc)
        ) from exc
    draft = draft_of(programme)
    revised = draft is not None
    if draft is None:
        number = (
            db.session.scalar(
                select(func.max(RuleVersion.number)).where(RuleVersion.programme_id == programme.id)
            )
            or 0
        ) + 1
        draft = RuleVersion(
            programme_id=programme.id, number=number, status="draft", created_by_id=getattr(user, "id", None)
        )
        db.session.add(draft)
    draft.criteria = tree
    draft.note = (note or "").strip() or None
    draft.source = (source or "").strip() or None
    draft.created_by_id = getattr(user, "id", None)
    draft.created_at = utcnow()
    if revised:
        # Even when nothing changed: the admin must review what is there now.
        flag_modified(draft, "created_at")
    _flush_rule_version()
    audit.record(
        "rule.draft",
        "rule_version",
        draft.id,
        programme=programme.code,
        number=draft.number,
        revision=draft.revision,
    )
    return draft


def publish(version: RuleVersion, user: Any, revision: Any, *, rescreen: bool = True) -> RescreenRun | None:
    """Put a draft in force: the previous version stays in history; re-screening starts after the commit.

    ``revision`` is the revision of the draft the admin reviewed (its simulation): when the draft was
    saved again since, nothing is published (Conflict), so nobody puts in force a rule they have not
    seen.
    """
    if version.status != "draft":
        raise Conflict(_("Only a draft can be published; this version is %(status)s.", status=version.status))
    reviewed = parse_id(revision) if not isinstance(revision, bool) else None
    if reviewed is None:
        raise ValidationFailed(
            _("Say which revision of the draft you reviewed."),
            {"revision": [_("Give the revision number of the draft you reviewed.")]},
        )
    if reviewed != version.revision:
        raise Conflict(
            _(
                "The draft changed since you reviewed it (you reviewed revision %(reviewed)d, it is now "
                "revision %(current)d). Check the new simulation, then publish again.",
                reviewed=reviewed,
                current=version.revision,
            )
        )
    programme = version.programme
    previous = programme.current_version
    if previous is not None:
        previous.status = "superseded"
    version.status = "published"
    version.published_at = utcnow()
    version.published_by_id = getattr(user, "id", None)
    programme.current_version_id = version.id
    programme.current_version = version
    _flush_rule_version()
    audit.record(
        "rule.publish",
        "rule_version",
        version.id,
        programme=programme.code,
        number=version.number,
        revision=reviewed,
        previous=previous.number if previous else None,
    )
    if not rescreen:
        return None
    run = RescreenRun(rule_version_id=version.id, started_by_id=getattr(user, "id", None), status="queued")
    db.session.add(run)
    db.session.flush()
    enqueue_after_commit("srs.programmes.jobs.rescreen", run.id, job_timeout=3600)
    return run


def discard(version: RuleVersion) -> None:
    """Drop a draft (it stays in history as discarded)."""
    if version.status != "draft":
        raise Conflict(_("Only a draft can be discarded."))
    version.status = "discarded"
    _flush_rule_version()
    audit.record(
        "rule.discard", "rule_version", version.id, programme=version.programme.code, number=version.number
    )


def _leaves(node: Any) -> list[str]:
    kind = node_kind(node)
    if kind in ("all", "any"):
        return [text for child in node[kind] for text in _leaves(child)]
    if kind == "not":
        return ["not " + text for text in _leaves(node["not"])]
    if kind == "leaf":
        return [criterion_text(node)]
    return []


def changes(older: RuleVersion | None, newer: RuleVersion) -> dict[str, list[str]]:
    """What changed between two versions: criteria added and removed (compact forms)."""
    before = _leaves(older.criteria) if older else []
    after = _leaves(newer.criteria)
    return {
        "added": [c for c in after if c not in before],
        "removed": [c for c in before if c not in after],
    }


def history(programme: Programme) -> list[dict[str, Any]]:
    """Every version, newest first, with who made it, when, and what changed from the one before."""
    from srs.accounts.models import User

    versions = versions_of(programme)
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(
                User.id.in_({v.created_by_id for v in versions} | {v.published_by_id for v in versions})
            )
        )
    }
    rows = []
    for i, version in enumerate(versions):
        older = versions[i + 1] if i + 1 < len(versions) else None
        rows.append(
            {
                "version": version,
                "author": users.get(version.created_by_id),
                "publisher": users.get(version.published_by_id),
                "changes": changes(older, version),
            }
        )
    return rows


# Screening ---------------------------------------------------------------------------------------


@dataclass
class Prepared:
    programme: Programme
    version: RuleVersion
    rule: PreparedRule


def prepare(programmes: list[Programme]) -> list[Prepared]:
    return [
        Prepared(p, p.current_version, PreparedRule(p.current_version.criteria, p.code))
        for p in programmes
        if p.current_version
    ]


def client_country(client: Client) -> str:
    return client.region.country


def screen(
    client: Client, user: Any, trigger: str = "officer", prepared: list[Prepared] | None = None
) -> Screening:
    """Screen ``client`` against every active programme of their country and store the results."""
    today = date.today()
    if prepared is None:
        prepared = prepare(active_programmes(client_country(client), today))
    facts = facts_for(client, today)
    screening = Screening(client_id=client.id, screened_by_id=getattr(user, "id", None), trigger=trigger)
    with fast_i18n():
        evaluations = [item.rule.evaluate(facts) for item in prepared]
    for item, evaluation in zip(prepared, evaluations, strict=True):
        reasons = [r.as_dict() for r in evaluation.reasons]
        if evaluation.ask:
            reasons.append(
                {
                    "criterion": "ask",
                    "passed": None,
                    "detail": "; ".join(evaluation.ask),
                    "ask": evaluation.ask,
                }
            )
        screening.results.append(
            ScreeningResult(
                programme_id=item.programme.id,
                rule_version_id=item.version.id,
                outcome=evaluation.outcome,
                reasons=reasons,
            )
        )
    db.session.add(screening)
    db.session.flush()
    counts = {
        o: sum(1 for r in screening.results if r.outcome == o)
        for o in ("eligible", "needs_information", "not_eligible")
    }
    audit.record(
        "client.screen", "client", client.id, user=user, screening=screening.id, trigger=trigger, **counts
    )
    return screening


def latest_screening(client: Client) -> Screening | None:
    stmt = (
        select(Screening)
        .where(Screening.client_id == client.id)
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
    )
    return db.session.scalars(stmt).first()


def screenings_of(client: Client) -> list[Screening]:
    stmt = (
        select(Screening)
        .where(Screening.client_id == client.id)
        .order_by(Screening.screened_at.desc(), Screening.id.desc())
    )
    return list(db.session.scalars(stmt))


def grouped(screening: Screening) -> dict[str, list[ScreeningResult]]:
    groups: dict[str, list[ScreeningResult]] = {"eligible": [], "needs_information": [], "not_eligible": []}
    for result in screening.results:
        groups[result.outcome].append(result)
    return groups


def screening_as_dict(screening: Screening, locale: str = "en") -> dict[str, Any]:
    """The API shape of a screening (API.md)."""
    from srs.api.helpers import iso

    return {
        "id": screening.id,
        "client_id": screening.client_id,
        "screened_at": iso(screening.screened_at),
        "trigger": screening.trigger,
        "results": [
            {
                "programme": {"code": r.programme.code, "name": r.programme.name_in(locale)},
                "rule_version": r.rule_version.number,
                "outcome": r.outcome,
                "reasons": [
                    {"criterion": reason["criterion"], "passed": reason["passed"], "detail": reason["detail"]}
                    for reason in r.reasons
                    if reason.get("criterion") != "ask"
                ],
                "ask": next(
                    (reason.get("ask", []) for reason in r.reasons if reason.get("criterion") == "ask"), []
                ),
                "hints": [reason["hint"] for reason in r.reasons if reason.get("hint")],
            }
            for r in screening.results
        ],
    }


# Simulation --------------------------------------------------------------------------------------


def _district_path(path: str) -> str:
    parts = path.strip("/").split("/")
    return "/".join(parts[:3]) + "/"


def _scope_clients(country: str, user: Any, everyone: bool = False) -> ColumnElement[bool]:
    """Registered clients of ``country`` in the user's scope (``everyone``: jobs, which have no user)."""
    conditions = [
        Client.merged_into_id.is_(None),
        Client.region_id.in_(select(Region.id).where(Region.country == country)),
    ]
    if not everyone:
        conditions.append(region_id_condition(Client.region_id, user))
    return and_(*conditions)


def outcome_columns(version: RuleVersion, previous: RuleVersion | None, on: date) -> tuple[Any, Any]:
    dialect = db.engine.dialect.name
    code = version.programme.code
    new = compile_outcome(version.criteria, on, dialect, code)
    if previous is None:
        from sqlalchemy import literal

        old = literal("not_eligible")
    else:
        old = compile_outcome(previous.criteria, on, dialect, code)
    return old, new


def simulate(version: RuleVersion, user: Any, sample_size: int = 10) -> dict[str, Any]:
    """How many registered clients in the user's scope would become or stop being eligible under ``version``.

    Counted in SQL with the compiled rules (before: the version in force), by district and sex.
    """
    programme = version.programme
    today = date.today()
    current = programme.current_version if programme.current_version_id != version.id else None
    old, new = outcome_columns(version, current, today)
    inner = (
        select(Client.id, Client.region_id, Client.sex, Client.full_name, old.label("old"), new.label("new"))
        .where(_scope_clients(programme.country, user))
        .subquery()
    )
    grouped_rows = db.session.execute(
        select(inner.c.region_id, inner.c.sex, inner.c.old, inner.c.new, func.count()).group_by(
            inner.c.region_id, inner.c.sex, inner.c.old, inner.c.new
        )
    ).all()
    region_ids = {row[0] for row in grouped_rows}
    paths = (
        dict(db.session.execute(select(Region.id, Region.path).where(Region.id.in_(region_ids))).all())
        if region_ids
        else {}
    )
    district_paths = {_district_path(p) for p in paths.values()}
    names = (
        dict(
            db.session.execute(select(Region.path, Region.name).where(Region.path.in_(district_paths))).all()
        )
        if district_paths
        else {}
    )
    totals = {
        "clients": 0,
        "eligible_before": 0,
        "eligible_after": 0,
        "became": 0,
        "stopped": 0,
        "needs_information_after": 0,
    }
    districts: dict[str, dict[str, Any]] = {}
    for region_id, sex, before, after, n in grouped_rows:
        totals["clients"] += n
        totals["eligible_before"] += n if before == "eligible" else 0
        totals["eligible_after"] += n if after == "eligible" else 0
        totals["needs_information_after"] += n if after == "needs_information" else 0
        change = (
            "became"
            if after == "eligible" and before != "eligible"
            else "stopped"
            if before == "eligible" and after != "eligible"
            else None
        )
        dpath = _district_path(paths[region_id])
        row = districts.setdefault(
            dpath,
            {
                "district": names.get(dpath, dpath),
                "became": {"female": 0, "male": 0},
                "stopped": {"female": 0, "male": 0},
                "eligible_after": 0,
            },
        )
        row["eligible_after"] += n if after == "eligible" else 0
        if change:
            totals[change] += n
            row[change][sex if sex in ("female", "male") else "female"] += n
    samples: dict[str, list[str]] = {"became": [], "stopped": []}
    for change, condition in (
        ("became", and_(inner.c.new == "eligible", inner.c.old != "eligible")),
        ("stopped", and_(inner.c.old == "eligible", inner.c.new != "eligible")),
    ):
        # Only when there is someone to find: in id order the scan stops at the first matches.
        if totals[change]:
            samples[change] = list(
                db.session.scalars(
                    select(inner.c.full_name).where(condition).order_by(inner.c.id).limit(sample_size)
                )
            )
    return {
        "programme": programme.code,
        "version": version.number,
        "against": current.number if current else None,
        "totals": totals,
        "districts": sorted(districts.values(), key=lambda d: d["district"]),
        "samples": samples,
    }


# Newly eligible ----------------------------------------------------------------------------------


def newly_eligible_for(user: Any, limit: int = 20) -> list[EligibilityNotice]:
    """Open notices for clients in the user's scope, newest first."""
    stmt = (
        select(EligibilityNotice)
        .join(Client, Client.id == EligibilityNotice.client_id)
        .where(EligibilityNotice.dismissed_at.is_(None), region_id_condition(Client.region_id, user))
        .order_by(EligibilityNotice.created_at.desc(), EligibilityNotice.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def dismiss_notice(notice: EligibilityNotice) -> None:
    notice.dismissed_at = utcnow()
    audit.record("eligibility_notice.dismiss", "client", notice.client_id, programme=notice.programme.code)


def notice_client(notice: EligibilityNotice) -> Client:
    return db.session.get(Client, notice.client_id)


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
        return date.fromisoformat(str(value))
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


def import_yaml(text: str, user: Any) -> ImportReport:
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
            existing = db.session.scalar(
                select(Programme).where(Programme.code == str(raw.get("code", "")).upper())
            )
            try:
                programme = save_programme(
                    ProgrammeInput(
                        code=str(raw.get("code") or ""),
                        agency_code=str(raw.get("agency") or ""),
                        country=str(raw.get("country") or ""),
                        kind=str(raw.get("kind") or ""),
                        names=_texts(raw.get("names")),
                        descriptions=_texts(raw.get("descriptions")),
                        benefit=_texts(raw.get("benefit")),
                        required_documents=[str(d) for d in raw.get("required_documents") or []],
                        shared_fields=[str(f) for f in raw.get("shared_fields") or []],
                        active=bool(raw.get("active", True)),
                        active_from=active_from,
                        active_to=active_to,
                    ),
                    existing,
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
