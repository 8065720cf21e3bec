"""SRS, the Single Referral System: create_app() builds the Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_babel import format_date, format_datetime, format_decimal
from flask_login import current_user

from srs.config import PROJECT_ROOT, Config
from srs.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(config: Config | None = None) -> Flask:
    """Build the application: configuration, extensions, features, error handlers, CLI."""
    config = config or Config()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(config.INSTANCE_PATH),
    )
    app.config.from_object(config)
    from srs.core.ids import IdConverter
    from srs.core.requests import SrsRequest

    app.request_class = SrsRequest

    # Before any blueprint: every <int:...> id in a path is bounded to what an id column holds.
    app.url_map.converters["int"] = IdConverter
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    config.INSTANCE_PATH.mkdir(parents=True, exist_ok=True)
    if config.PROXY_COUNT > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The audit log and the login limits need the client's address, not the proxy's.
        count = config.PROXY_COUNT
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    from srs.core.redis import limiter_storage_uri, resolve_redis_url

    app.config["REDIS_URL"] = resolve_redis_url(config.REDIS_URL, config.INSTANCE_PATH)
    if not config.REDIS_URL and _inside_flask_command():
        from srs.core.redis import stop_at_exit_if_started_here

        stop_at_exit_if_started_here(config.INSTANCE_PATH / "redis")
    app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(app.config["REDIS_URL"])
    # Login must keep working when Redis is down: limits then fall back to per-process memory.
    app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    app.config["RATELIMIT_KEY_PREFIX"] = "srs-limit"

    db.init_app(app)
    from srs.core.replica import init_replica

    init_replica(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(PROJECT_ROOT / "srs" / "translations"),
    )
    _init_login(app)

    from srs import models  # noqa: F401  (every model registered before migrations and create_all)
    from srs.core.errors import register_error_handlers
    from srs.core.security import register_security_headers
    from srs.core.transaction import register_transaction_handling

    register_transaction_handling(app)
    register_security_headers(app)
    register_error_handlers(app)
    from srs.core.lengths import register_length_guard

    register_length_guard(app)
    _register_features(app)
    _register_template_helpers(app)

    from srs.cli import register_cli

    register_cli(app)
    return app


def _inside_flask_command() -> bool:
    """True while the ``flask`` command line builds the app (db upgrade, seed-demo, create-admin ...)."""
    import click

    return click.get_current_context(silent=True) is not None


def _select_locale() -> str:
    from srs.core.i18n import select_locale

    return select_locale()


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from srs.accounts import services

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(cookie_id: str) -> Any:
        # The API and DCI authenticate by bearer token only: a browser cookie never opens them.
        if request.path.startswith(("/api/", "/dci/")):
            return None
        return services.load_session_user(cookie_id)

    @login_manager.request_loader
    def load_user_from_token(req: Any) -> Any:
        if not req.path.startswith(("/api/", "/dci/")):
            return None
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return services.user_for_token(token.strip())


def _register_features(app: Flask) -> None:
    from srs.core.wiring import register_feature
    from srs.features import all_features

    for feature in all_features():
        register_feature(app, feature)


def _register_template_helpers(app: Flask) -> None:
    from srs.core.home import ROLE_LABELS, nav_for
    from srs.core.i18n import LANGUAGE_NAMES

    @app.context_processor
    def inject() -> dict[str, Any]:
        from flask_babel import get_locale

        from srs.accounts.forms import LanguageForm

        return {
            "nav_items": nav_for(current_user),
            "role_labels": ROLE_LABELS,
            "language_names": LANGUAGE_NAMES,
            "current_locale": str(get_locale()),
            "language_form": LanguageForm(),
        }

    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
    app.jinja_env.filters["number"] = lambda value: format_decimal(value) if value is not None else ""
    app.jinja_env.add_extension("jinja2.ext.i18n")

    from srs.core.idempotency import form_field
    from srs.core.slots import render_slot

    app.jinja_env.globals["render_slot"] = render_slot
    app.jinja_env.globals["idempotency_field"] = form_field
