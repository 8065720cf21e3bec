"""Screening a client against every programme in force, and the notices of newly eligible clients.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.iso import iso
from srs.extensions import db
from srs.programmes.estimates import estimate_as_dict, estimate_for, rates_in_force
from srs.programmes.fields import facts_for
from srs.programmes.models import (
    EligibilityNotice,
    Programme,
    RateVersion,
    RuleVersion,
    Screening,
    ScreeningResult,
)
from srs.programmes.rules import GROUPS, PreparedRule, combine, fast_i18n, node_kind
from srs.programmes.services import active_programmes
from srs.regions.scope import region_id_condition
from srs.registry.models import Client


@dataclass
class Prepared:
    programme: Programme
    version: RuleVersion
    rule: PreparedRule
    rates: RateVersion | None = None


def prepare(programmes: list[Programme], on: date | None = None) -> list[Prepared]:
    """The programmes' rules ready to evaluate, each with its rate version in force on ``on`` (today)."""
    with_rules = [(p, p.current_version) for p in programmes if p.current_version is not None]
    rates = rates_in_force([p.id for p, _v in with_rules], on or clock.today())
    return [Prepared(p, v, PreparedRule(v.criteria, p.code), rates.get(p.id)) for p, v in with_rules]


def client_country(client: Client) -> str:
    return client.region.country


def screen(
    client: Client, user: User | None, trigger: str = "officer", prepared: list[Prepared] | None = None
) -> Screening:
    """Screen ``client`` against every active programme of their country and store the results."""
    today = clock.today()
    if prepared is None:
        prepared = prepare(active_programmes(client_country(client), today), today)
    facts = facts_for(client, today)
    screening = Screening(client_id=client.id, screened_by_id=getattr(user, "id", None), trigger=trigger)
    with fast_i18n(item.programme for item in prepared):
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
                # The objects, not their ids: the answer reads them, and no lazy load fetches them again
                # (the session holds loaded rows only while something refers to them).
                programme=item.programme,
                rule_version=item.version,
                outcome=evaluation.outcome,
                reasons=reasons,
                # What it would cost, for a programme the person may join (not for one they cannot).
                estimate=(
                    estimate_for(item.rates, facts)
                    if item.rates is not None and evaluation.outcome != "not_eligible"
                    else None
                ),
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


def reason_tree(result: ScreeningResult) -> list[dict[str, Any]]:
    """The result's reasons as the rule reads: each ``{"kind": "leaf", "reason": ...}`` or a group
    ``{"kind": "all"|"any"|"not", "passed": ..., "children": [...]}``, the enrolment check first.

    Reasons stored before they carried their place in the tree come back as a flat list of leaves.
    """
    reasons = [r for r in result.reasons if r.get("criterion") != "ask"]
    by_path = {r["path"]: r for r in reasons if r.get("path")}
    leaves = [{"kind": "leaf", "reason": r} for r in reasons if not r.get("path")]
    if not by_path:
        return leaves

    def walk(node: dict[str, Any], path: str) -> dict[str, Any]:
        kind = node_kind(node)
        if kind in GROUPS:
            children = [walk(child, f"{path}.{i}") for i, child in enumerate(node[kind])]
            return {
                "kind": kind,
                "passed": combine(kind, [c["passed"] for c in children]),
                "children": children,
            }
        if kind == "not":
            inner = walk(node["not"], f"{path}.0")
            passed = None if inner["passed"] is None else not inner["passed"]
            return {"kind": "not", "passed": passed, "children": [inner]}
        reason = by_path.get(path, {"criterion": "", "passed": None, "detail": ""})
        return {"kind": "leaf", "reason": reason, "passed": reason.get("passed")}

    root = walk(result.rule_version.criteria, "r")
    # The top "all" is the rule itself: its criteria are listed at the top level, beside the enrolment check.
    return leaves + (root["children"] if root["kind"] == "all" else [root])


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
                **({"estimate": estimate_as_dict(r.estimate)} if r.estimate else {}),
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
