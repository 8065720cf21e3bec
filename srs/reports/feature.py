"""What the reports add to the app: pages, navigation, the fact tables' listeners, the drift check."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from srs.core.wiring import Feature, NavEntry, PeriodicJob, Slot
from srs.reports import facts, jobs
from srs.reports.jobs import CHECK_EVERY_SECONDS
from srs.reports.views import bp


def _install_listeners(_app: Flask) -> None:
    facts.install()


FEATURE = Feature(
    name="reports",
    blueprints=(bp,),
    nav=(NavEntry("reports.dashboard", _l("Reports"), {"supervisor", "admin"}, order=50),),
    periodic_jobs=(PeriodicJob(jobs.check_report_facts, CHECK_EVERY_SECONDS),),
    slots=(Slot("referral_detail", "reports/_slot_letter.html", order=40),),
    setup=_install_listeners,
)
