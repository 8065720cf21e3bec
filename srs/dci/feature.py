"""What DCI adds to the app: the registry endpoints, keys, partner admin pages, jobs, change feed, demo
partner."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from srs.core.wiring import AdminLink, Feature, PeriodicJob, SeedStep
from srs.dci import admin, events, jobs, seed, views
from srs.extensions import csrf


def _setup(_app: Flask) -> None:
    csrf.exempt(views.bp)  # bearer tokens and signatures, not cookies
    events.install()


FEATURE = Feature(
    name="dci",
    blueprints=(views.bp, views.wellknown_bp, admin.bp),
    admin_links=(AdminLink("dci_admin.partners", _l("DCI partner systems"), order=70),),
    periodic_jobs=(
        PeriodicJob(jobs.relay, every="DCI_RELAY_SECONDS"),
        PeriodicJob(jobs.dispatch_changes, every="DCI_RELAY_SECONDS"),
        PeriodicJob(jobs.reconcile, 60),
        PeriodicJob(jobs.prune_changes, 3600),
    ),
    seed_steps=(SeedStep(70, seed.seed_partner),),
    setup=_setup,
)
