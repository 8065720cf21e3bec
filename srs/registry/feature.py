"""What the registry adds to the app: its pages, navigation, home section, timeline and demo clients."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from srs.core.audit import mask_id_number
from srs.core.wiring import Feature, HomeSection, NavEntry, PeriodicJob, SeedStep
from srs.registry import jobs, policies, region_copies, timeline, views
from srs.registry.seed import seed_clients


def _install_listeners(_app: Flask) -> None:
    # Referrals, cases and complaints follow their client's region when it moves or is merged.
    region_copies.install()


FEATURE = Feature(
    name="registry",
    blueprints=(views.bp,),
    nav=(
        NavEntry("registry.index", _l("Clients"), {"officer", "supervisor", "admin"}, order=10),
        NavEntry("registry.review", _l("Review queue"), {"supervisor", "admin"}, order=12),
        NavEntry("registry.import_page", _l("Import"), {"officer", "admin"}, order=14),
    ),
    home_sections=(
        HomeSection({"officer", "supervisor", "admin"}, "registry/_home.html", views.home_context, order=5),
    ),
    timeline_sources=(timeline.registry_timeline,),
    # Uploaded import files older than SRS_IMPORT_FILE_RETENTION_DAYS are deleted (checked hourly).
    periodic_jobs=(PeriodicJob(jobs.delete_expired_import_files, every=3600),),
    seed_steps=(SeedStep(30, seed_clients),),
    template_filters={"mask_id": mask_id_number},
    policies=(
        policies.can_read_clients,
        policies.can_register_client,
        policies.can_edit_client,
        policies.can_review_duplicates,
        policies.can_edit_field,
        policies.can_record_consent,
        policies.can_withdraw_consent,
    ),
    setup=_install_listeners,
)
