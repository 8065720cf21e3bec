"""What a rule version would change: counted over the registry in SQL with the compiled rules.

Services never commit: the request (or the job) commits at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from srs.accounts.models import User
from srs.core import clock
from srs.extensions import db
from srs.programmes.compiler import compile_outcome
from srs.programmes.models import RuleVersion
from srs.regions.models import Region
from srs.regions.scope import region_id_condition
from srs.registry.models import Client


def _district_path(path: str) -> str:
    parts = path.strip("/").split("/")
    return "/".join(parts[:3]) + "/"


def _scope_clients(country: str, user: User | None, everyone: bool = False) -> ColumnElement[bool]:
    """Registered clients of ``country`` in the user's scope (``everyone``: jobs, which have no user)."""
    conditions: list[ColumnElement[bool]] = [
        Client.merged_into_id.is_(None),
        # A record whose processing the person restricted is used for nothing new (srs.privacy).
        Client.restricted_at.is_(None),
        Client.region_id.in_(select(Region.id).where(Region.country == country)),
    ]
    if not everyone:
        conditions.append(region_id_condition(Client.region_id, user))
    return and_(*conditions)


def outcome_columns(version: RuleVersion, previous: RuleVersion | None, on: date) -> tuple[Any, Any]:
    dialect = db.engine.dialect.name
    code = version.programme.code
    new = compile_outcome(version.criteria, on, dialect, code)
    old: ColumnElement[str]
    if previous is None:
        from sqlalchemy import literal

        old = literal("not_eligible")
    else:
        old = compile_outcome(previous.criteria, on, dialect, code)
    return old, new


def simulate(version: RuleVersion, user: User, sample_size: int = 10) -> dict[str, Any]:
    """How many registered clients in the user's scope would become or stop being eligible under ``version``.

    Counted in SQL with the compiled rules (before: the version in force), by district and sex.
    """
    programme = version.programme
    today = clock.today()
    current = programme.current_version if programme.current_version_id != version.id else None
    old, new = outcome_columns(version, current, today)
    inner = (
        select(Client.id, Client.region_id, Client.sex, Client.full_name, old.label("old"), new.label("new"))
        .where(_scope_clients(programme.country, user))
        .subquery()
    )
    # (region id, sex, outcome before, outcome after, clients)
    grouped_rows: Sequence[tuple[int, str, str, str, int]] = db.session.execute(
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
