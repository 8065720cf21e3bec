"""The DCI Social Registry server: /dci/registry/..., its partner systems, callbacks and events."""

from __future__ import annotations

from flask import Flask


def init_feature(app: Flask) -> None:
    """Register the DCI endpoints, keys, admin pages, jobs, change feed and demo partner."""
    from flask_babel import lazy_gettext as _l

    from srs.core.home import register_admin_link
    from srs.core.periodic import register_periodic
    from srs.dci import admin, events, seed, views
    from srs.dci.services import setting
    from srs.extensions import csrf
    from srs.seed import register_seed_step

    app.config.setdefault(
        "DCI_SENDER_ID", app.config.get("DCI_SENDER_ID") or _env("SRS_DCI_SENDER_ID", "srs")
    )
    app.config.setdefault("DCI_SIGNING_KEY_PATH", _env("SRS_DCI_SIGNING_KEY_PATH", ""))
    csrf.exempt(views.bp)  # bearer tokens and signatures, not cookies
    app.register_blueprint(views.bp)
    app.register_blueprint(views.wellknown_bp)
    app.register_blueprint(admin.bp)
    register_admin_link("dci_admin.partners", _l("DCI partner systems"), order=70)
    events.install()
    with app.app_context():
        every = int(setting("RELAY_SECONDS", 5))
    register_periodic("srs.dci.jobs.relay", every)
    register_periodic("srs.dci.jobs.dispatch_changes", every)
    register_periodic("srs.dci.jobs.reconcile", 60)
    register_seed_step(70, seed.seed_partner)


def _env(name: str, default: str) -> str:
    import os

    return os.environ.get(name) or default
