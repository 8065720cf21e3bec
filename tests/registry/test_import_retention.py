"""Uploaded import files are deleted after the retention period; a failed import stores no personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from srs.core.models import AuditEntry
from srs.core.wiring import wiring
from srs.extensions import db
from srs.registry import importer, jobs
from srs.registry.models import ImportBatch

from .test_import import _upload, _work, survey_csv

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _batch_ids(officer, count: int) -> list[int]:
    ids = []
    for _i in range(count):
        response = _upload(officer, survey_csv(3))
        assert response.status_code == 302
        ids.append(int(response.headers["Location"].rstrip("/").split("/")[-1]))
    return ids


def _age(app, ages: dict[int, int]) -> None:
    with app.app_context():
        for batch_id, days in ages.items():
            db.session.get(ImportBatch, batch_id).created_at = NOW - timedelta(days=days)
        db.session.commit()


def test_files_older_than_the_retention_period_are_deleted_and_audited(app, login_as):
    officer = login_as("officer")
    old, recent = _batch_ids(officer, 2)
    _work(app)
    _age(app, {old: 31, recent: 29})
    with app.app_context():
        assert jobs.delete_expired_import_files(now=NOW) == 1
        db.session.expire_all()
        gone, kept = db.session.get(ImportBatch, old), db.session.get(ImportBatch, recent)
        assert gone.content is None and gone.file_deleted_at == NOW
        assert kept.content and kept.file_deleted_at is None
        # The batch and its results stay.
        assert gone.status == "done" and gone.imported == 3
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "clients.import_file_deleted")
        ).all()
        assert entry.object_id == str(old) and entry.details["retention_days"] == 30
        assert entry.details["bytes"] > 0
        assert jobs.delete_expired_import_files(now=NOW) == 0  # once only
    page = officer.get(f"/clients/import/{old}").get_data(as_text=True)
    assert "The uploaded file was deleted" in page
    assert officer.get(f"/clients/import/{old}/report.csv").status_code == 200


def test_the_retention_period_is_a_setting(app, login_as, monkeypatch):
    [batch_id] = _batch_ids(login_as("officer"), 1)
    _work(app)
    _age(app, {batch_id: 8})
    monkeypatch.setitem(app.config, "IMPORT_FILE_RETENTION_DAYS", 10)
    with app.app_context():
        assert jobs.delete_expired_import_files(now=NOW) == 0
    monkeypatch.setitem(app.config, "IMPORT_FILE_RETENTION_DAYS", 7)
    with app.app_context():
        assert jobs.delete_expired_import_files(now=NOW) == 1
        assert db.session.get(ImportBatch, batch_id).content is None


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from srs.config import Config

    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SRS_IMPORT_FILE_RETENTION_DAYS", raising=False)
    assert Config().IMPORT_FILE_RETENTION_DAYS == 30
    monkeypatch.setenv("SRS_IMPORT_FILE_RETENTION_DAYS", "7")
    assert Config().IMPORT_FILE_RETENTION_DAYS == 7


def test_the_deletion_runs_periodically(app):
    name = "srs.registry.jobs.delete_expired_import_files"
    [job] = [j for j in wiring(app).periodic_jobs if j.func == name]
    assert job.every_seconds == 3600


def test_a_queued_import_whose_file_was_deleted_fails_clearly(app, login_as):
    officer = login_as("officer")
    [batch_id] = _batch_ids(officer, 1)  # queued, not yet run
    _age(app, {batch_id: 40})
    with app.app_context():
        assert jobs.delete_expired_import_files(now=NOW) == 1
    _work(app)
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.status == "failed" and batch.imported == 0
    assert "Upload the file again" in officer.get(f"/clients/import/{batch_id}").get_data(as_text=True)


def test_a_failed_import_stores_the_error_class_not_its_text(app, login_as, monkeypatch):
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("Sri Wahyuni, NIK 3516084204850001, phone 081234567890")

    monkeypatch.setattr(importer, "run_import", broken)
    officer = login_as("officer")
    [batch_id] = _batch_ids(officer, 1)
    with pytest.raises(ValueError), app.app_context():
        jobs.import_clients(batch_id)
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.status == "failed" and batch.failure == "ValueError"
    page = officer.get(f"/clients/import/{batch_id}").get_data(as_text=True)
    assert "ValueError" in page and "Sri Wahyuni" not in page and "3516084204850001" not in page
