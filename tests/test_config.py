import pytest

from srs.config import Config, ConfigurationError


def test_production_without_secret_key_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SRS_ENV", "production")
    monkeypatch.delenv("SRS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SRS_SECRET_KEY"):
        Config()


def test_embedded_default_generates_and_keeps_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SRS_SECRET_KEY", raising=False)
    monkeypatch.delenv("SRS_ENV", raising=False)
    monkeypatch.delenv("SRS_DATABASE_URL", raising=False)
    first = Config()
    second = Config()
    assert first.SECRET_KEY == second.SECRET_KEY and len(first.SECRET_KEY) >= 32
    assert (tmp_path / "secret_key").exists()
    assert f"sqlite:///{tmp_path / 'srs.db'}" == first.SQLALCHEMY_DATABASE_URI
    assert first.REDIS_URL == ""


def test_servers_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SRS_DATABASE_URL", "postgresql+psycopg://db/srs")
    monkeypatch.setenv("SRS_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("SRS_ENV", "production")
    monkeypatch.setenv("SRS_SECRET_KEY", "x" * 40)
    config = Config()
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://db/srs"
    assert config.REDIS_URL == "redis://cache:6379/0"
    assert config.SESSION_COOKIE_SECURE is True


def test_behind_a_proxy_the_client_address_is_audited(app, instance_dir, demo):
    from sqlalchemy import select

    from srs import create_app
    from srs.core.models import AuditEntry
    from srs.extensions import db
    from tests.conftest import DEMO_PASSWORD, make_config

    proxied = create_app(make_config(instance_dir, PROXY_COUNT=1))
    response = proxied.test_client().post(
        "/login",
        data={"username": "officer.id1", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login"))
        assert entry.ip_address == "203.0.113.7"


def test_without_a_proxy_a_forwarded_header_is_not_trusted(app, client, demo):
    from sqlalchemy import select

    from srs.core.models import AuditEntry
    from srs.extensions import db
    from tests.conftest import DEMO_PASSWORD

    client.post(
        "/login",
        data={"username": "officer.id1", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login"))
        assert entry.ip_address == "10.0.0.2"
