"""The monthly cost to the state of a rule or rate change, for the registered people who would take it up.

Who would take it up: every registered client in the user's scope whom the rule makes eligible
(counted in SQL with the compiled rule, as the simulation counts). What it costs: each one's
estimate under the rate version (``state_support``), summed by district and sex. The assumption
that everyone eligible takes the programme up is stated on the page; the figure is an upper bound.

Services never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from srs.core import clock
from srs.extensions import db
from srs.programmes.estimates import estimate_for, supported_periods
from srs.programmes.fields import facts_for
from srs.programmes.models import RateVersion, RuleVersion
from srs.programmes.simulation import _district_path, _scope_clients, outcome_columns
from srs.regions.models import Region
from srs.registry.models import Client, Household

SEXES = ("female", "male")


def budget(rule: RuleVersion, rates: RateVersion, user: Any) -> dict[str, Any]:
    """People eligible under ``rule`` in the user's scope and the state's monthly cost under ``rates``."""
    programme = rule.programme
    today = clock.today()
    _old, outcome = outcome_columns(rule, None, today)
    eligible_ids = select(Client.id).where(_scope_clients(programme.country, user), outcome == "eligible")
    clients = db.session.scalars(
        select(Client)
        .where(Client.id.in_(eligible_ids))
        .options(selectinload(Client.region), selectinload(Client.household).selectinload(Household.members))
        .order_by(Client.id)
    ).all()
    paths = {c.region.path for c in clients}
    names = dict(
        db.session.execute(
            select(Region.path, Region.name).where(Region.path.in_({_district_path(p) for p in paths}))
        ).all()
    )
    # Everyone's supported enrolments in one query (the 120-month limit), not one per person.
    periods = supported_periods(eligible_ids, today)
    districts: dict[str, dict[str, Any]] = {}
    total = {"people": 0, "state": 0, "contribution": 0}
    for client in clients:
        # The estimate a screening today would give: the person's own facts and household.
        facts = facts_for(client, today)
        facts.supported_periods = periods.get(client.id, [])
        estimate = estimate_for(rates, facts)
        dpath = _district_path(client.region.path)
        row = districts.setdefault(
            dpath,
            {"district": names.get(dpath, dpath), **{s: {"people": 0, "state": 0} for s in SEXES}},
        )
        sex = client.sex if client.sex in SEXES else "female"
        row[sex]["people"] += 1
        row[sex]["state"] += estimate["state_support"]
        total["people"] += 1
        total["state"] += estimate["state_support"]
        total["contribution"] += estimate["contribution"]
    return {
        "currency": rates.currency,
        "rate_version": rates.number,
        "rule_version": rule.number,
        "total": total,
        "districts": sorted(districts.values(), key=lambda d: d["district"]),
    }
