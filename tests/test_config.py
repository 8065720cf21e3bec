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
