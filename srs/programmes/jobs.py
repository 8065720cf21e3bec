"""Re-screening after a rule version is published."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select

from srs.core import clock
from srs.core.queue import job
from srs.core.transaction import commit
from srs.extensions import db
from srs.programmes import services
from srs.programmes.models import EligibilityNotice, RescreenRun, RuleVersion
from srs.programmes.screening import prepare, screen
from srs.programmes.simulation import _scope_clients, outcome_columns
from srs.registry.models import Client

BATCH = 200


def affected_clients(version: RuleVersion, previous: RuleVersion | None, on: date) -> list[tuple[int, str]]:
    """(client id, outcome before) for clients whose outcome for this programme changes, found in SQL."""
    old, new = outcome_columns(version, previous, on)
    inner = (
        select(Client.id.label("id"), old.label("old"), new.label("new"))
        .where(_scope_clients(version.programme.country, None, everyone=True))
        .subquery()
    )
    rows = db.session.execute(
        select(inner.c.id, inner.c.old).where(inner.c.old != inner.c.new).order_by(inner.c.id)
    )
    return [(row[0], row[1]) for row in rows]


def _previous(version: RuleVersion) -> RuleVersion | None:
    stmt = (
        select(RuleVersion)
        .where(
            RuleVersion.programme_id == version.programme_id,
            RuleVersion.number < version.number,
            RuleVersion.published_at.is_not(None),
        )
        .order_by(RuleVersion.number.desc())
    )
    return db.session.scalars(stmt).first()


def _rescreen_line(result: dict[str, int], run_id: int) -> str | None:
    if not result.get("screened"):
        return None
    return f"rescreen run {run_id}: {result['screened']} screened, {result['newly_eligible']} newly eligible"


@job(summary=_rescreen_line)
def rescreen(run_id: int) -> dict[str, int]:
    """Re-screen the clients a newly published version may affect; record who newly qualifies.

    Idempotent: a finished run does nothing; a restarted run re-screens from the start (a notice is
    unique per client, programme and version).
    """
    run = db.session.get(RescreenRun, run_id)
    if run is None or run.status == "done":
        return {"screened": 0}
    version = run.rule_version
    programme = version.programme
    today = clock.today()
    affected = affected_clients(version, _previous(version), today)
    run.status, run.total, run.done, run.newly_eligible = "running", len(affected), 0, 0
    commit()
    prepared = prepare(services.active_programmes(programme.country, today))
    for start in range(0, len(affected), BATCH):
        batch = affected[start : start + BATCH]
        before = dict(batch)
        clients = db.session.scalars(select(Client).where(Client.id.in_(list(before)))).all()
        for client in clients:
            screening = screen(client, None, trigger="rescreen", prepared=prepared)
            for result in screening.results:
                if (
                    result.programme_id == programme.id
                    and result.outcome == "eligible"
                    and before[client.id] != "eligible"
                ):
                    exists = db.session.scalar(
                        select(EligibilityNotice.id).where(
                            and_(
                                EligibilityNotice.client_id == client.id,
                                EligibilityNotice.programme_id == programme.id,
                                EligibilityNotice.rule_version_id == version.id,
                            )
                        )
                    )
                    if exists is None:
                        db.session.add(
                            EligibilityNotice(
                                client_id=client.id,
                                programme_id=programme.id,
                                rule_version_id=version.id,
                                screening_id=screening.id,
                            )
                        )
                        run.newly_eligible += 1
        run.done = min(start + BATCH, len(affected))
        commit()
    run.status = "done"
    run.finished_at = clock.now()
    commit()
    return {"screened": run.done, "newly_eligible": run.newly_eligible}
