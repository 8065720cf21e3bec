"""A programme's rule versions: drafts, publishing, history.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.errors import Conflict, Forbidden, ValidationFailed
from srs.core.ids import parse_id
from srs.core.queue import enqueue_after_commit
from srs.extensions import db
from srs.programmes.models import Programme, RescreenRun, RuleVersion
from srs.programmes.policies import can_edit_rules
from srs.programmes.rules import RuleError, check, criterion_text, node_kind


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


def _flush_rule_version() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            _("Someone changed this draft at the same moment. Reload the page and check it again.")
        ) from exc


def save_draft(
    programme: Programme, criteria: Any, user: User, note: str | None = None, source: str | None = None
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
    draft.created_at = clock.now()
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


def publish(version: RuleVersion, user: User, revision: Any, *, rescreen: bool = True) -> RescreenRun | None:
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
    version.published_at = clock.now()
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
                "author": users.get(version.created_by_id) if version.created_by_id else None,
                "publisher": users.get(version.published_by_id) if version.published_by_id else None,
                "changes": changes(older, version),
            }
        )
    return rows
