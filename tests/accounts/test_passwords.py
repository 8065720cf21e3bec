from argon2 import PasswordHasher

from srs.accounts.passwords import hash_password, verify_password
from srs.config import Config


def test_production_parameters_meet_owasp_minimum(monkeypatch, tmp_path):
    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    config = Config()
    # OWASP: argon2id with at least m=19 MiB, t=2, p=1.
    assert config.ARGON2_MEMORY_COST >= 19 * 1024
    assert config.ARGON2_TIME_COST >= 2
    assert config.ARGON2_PARALLELISM >= 1


def test_hashes_are_argon2id_and_verify(app_ctx):
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "a long enough password")
    assert not verify_password(stored, "another password")
    assert not verify_password("not-a-hash", "x")
    PasswordHasher().verify(stored, "a long enough password")
