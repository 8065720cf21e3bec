"""What the reports add to the app: pages, navigation, the fact tables' listeners, the drift check."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from srs.core.wiring import AdminLink, Feature, NavEntry, PeriodicJob
from srs.reports import coverage_facts, coverage_views, facts, jobs, policies
from srs.reports.jobs import CHECK_EVERY_SECONDS
from srs.reports.views import bp

# coverage_views adds its routes to the reports' blueprint when imported.
assert coverage_views.bp is bp  # type: ignore[attr-defined]  # re-used, not re-exported


def _install_listeners(_app: Flask) -> None:
    facts.install()
    coverage_facts.install()


FEATURE = Feature(
    name="reports",
    blueprints=(bp,),
    nav=(NavEntry("reports.dashboard", _l("Reports"), {"supervisor", "admin"}, order=50),),
    admin_links=(AdminLink("reports.population", _l("Population figures (coverage)"), order=60),),
    periodic_jobs=(PeriodicJob(jobs.check_report_facts, CHECK_EVERY_SECONDS),),
    setup=_install_listeners,
    policies=(policies.can_import_population,),
)
