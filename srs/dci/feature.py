"""What DCI adds to the app: the registry endpoints, keys, partner admin pages, jobs, change feed, demo
partner; and SRS as a client: national registries, the profile's registry check, civil events."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from srs.core.wiring import AdminLink, Feature, HomeSection, NavEntry, PeriodicJob, SeedStep, Slot
from srs.dci import admin, client_views, events, jobs, policies, seed, views
from srs.extensions import csrf


def _setup(_app: Flask) -> None:
    csrf.exempt(views.bp)  # bearer tokens and signatures, not cookies
    csrf.exempt(client_views.inbound_bp)  # national registries calling back: a secret URL and signatures
    events.install()


FEATURE = Feature(
    name="dci",
    blueprints=(
        views.bp,
        views.wellknown_bp,
        admin.bp,
        client_views.bp,
        client_views.admin_bp,
        client_views.inbound_bp,
    ),
    nav=(NavEntry("dci_client.civil_events", _l("Births and deaths"), {"officer", "supervisor"}, order=47),),
    home_sections=(
        HomeSection(
            {"officer", "supervisor"}, "dci/_home_civil.html", client_views.home_civil_events, order=35
        ),
    ),
    slots=(Slot("client_profile", "dci/_registry_panel.html", order=30),),
    template_globals={"registry_panel": client_views.registry_panel},
    policies=(policies.can_take_over_registry_values,),
    admin_links=(
        AdminLink("dci_admin.partners", _l("DCI partner systems"), order=70),
        AdminLink("dci_registries.registries", _l("National registries (DCI)"), order=71),
    ),
    periodic_jobs=(
        PeriodicJob(jobs.relay, every="DCI_RELAY_SECONDS"),
        PeriodicJob(jobs.dispatch_changes, every="DCI_RELAY_SECONDS"),
        PeriodicJob(jobs.reconcile, 60),
        PeriodicJob(jobs.prune_changes, 3600),
        PeriodicJob(jobs.check_new_registrations, every="DCI_RELAY_SECONDS"),
    ),
    seed_steps=(SeedStep(70, seed.seed_partner),),
    setup=_setup,
)
