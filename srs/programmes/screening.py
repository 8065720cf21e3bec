"""Screening a client against every programme in force, and the notices of newly eligible clients.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.iso import iso
from srs.extensions import db
from srs.programmes.fields import facts_for
from srs.programmes.models import EligibilityNotice, Programme, RuleVersion, Screening, ScreeningResult
from srs.programmes.rules import PreparedRule, fast_i18n
from srs.programmes.services import active_programmes
from srs.regions.scope import region_id_condition
from srs.registry.models import Client


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
    client: Client, user: User | None, trigger: str = "officer", prepared: list[Prepared] | None = None
) -> Screening:
    """Screen ``client`` against every active programme of their country and store the results."""
    today = clock.today()
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
    """The API shape of a screening (schema ``Screening`` of /api/v1/openapi.json)."""
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


# Newly eligible ----------------------------------------------------------------------------------


def newly_eligible_for(user: User, limit: int = 20) -> list[EligibilityNotice]:
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
    notice.dismissed_at = clock.now()
    audit.record("eligibility_notice.dismiss", "client", notice.client_id, programme=notice.programme.code)
