"""Background jobs of the registry (run by the RQ worker inside an app context)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, text

from srs.accounts.models import User
from srs.core import audit, clock
from srs.core.queue import job
from srs.core.transaction import commit
from srs.extensions import db
from srs.registry import importer
from srs.registry.models import ImportBatch


def _relax_durability() -> None:
    """Let PostgreSQL acknowledge this transaction's commit before its WAL reaches the disk.

    A crash can then lose the last chunk or two; re-running the import recreates them (rows already
    stored count as "already registered"), so the import stays correct and spends less time waiting.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _commit_progress(_batch: ImportBatch) -> None:
    """After each chunk: commit, so the page shows the progress; the next chunk relaxes durability too."""
    commit()
    _relax_durability()


@job(summary=lambda result, batch_id: f"import batch {batch_id}: {result}" if result else None)
def import_clients(batch_id: int) -> dict[str, int]:
    """Import an uploaded file of clients; progress is committed after each chunk of rows.

    Idempotent: a finished batch is left alone, and a batch re-run after a crash finds the rows it
    already inserted as "already registered". Errors propagate so RQ marks the job failed; the batch
    records the failure for the page.
    """
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status == "done":
        return {}
    if batch.content is None:
        # The file outlived its retention period before a worker got to it.
        batch.status = "failed"
        batch.failure = "FileDeleted"
        batch.finished_at = clock.now()
        commit()
        return {}
    user = db.session.get_one(User, batch.uploaded_by_id)
    content = batch.content
    batch.status = "running"
    batch.started_at = clock.now()
    batch.total_rows = (
        importer.count_rows(batch.filename, content) if not batch.total_rows else batch.total_rows
    )
    commit()
    try:
        _relax_durability()
        importer.run_import(batch, user, on_progress=_commit_progress)
    except Exception as exc:
        db.session.rollback()
        batch = db.session.get_one(ImportBatch, batch_id)
        batch.status = "failed"
        # The exception's class only: its text may quote a row (a name, an ID number, a phone) or
        # a database error's parameters. The worker's log keeps the traceback for the operator.
        batch.failure = type(exc).__name__
        batch.finished_at = clock.now()
        commit()
        raise
    batch.status = "done"
    batch.finished_at = clock.now()
    commit()
    return {"imported": batch.imported, "skipped": len(batch.errors), "already": batch.already_registered}


@job
def delete_expired_import_files(now: datetime | None = None) -> int:
    """Delete the uploaded files of import batches older than ``SRS_IMPORT_FILE_RETENTION_DAYS``.

    The batch row and its results (counts, skipped rows) stay; each deletion is audited. Runs
    periodically; ``now`` lets a test choose the moment. Returns how many files were deleted.
    """
    now = now or clock.now()
    days = int(current_app.config.get("IMPORT_FILE_RETENTION_DAYS", 30))
    cutoff = now - timedelta(days=days)
    deleted = 0
    while True:
        batches = list(
            db.session.scalars(
                select(ImportBatch)
                .where(ImportBatch.file_deleted_at.is_(None), ImportBatch.created_at < cutoff)
                .order_by(ImportBatch.id)
                .limit(100)
            )
        )
        if not batches:
            break
        for batch in batches:
            size = len(batch.content or b"")
            batch.content = None
            batch.file_deleted_at = now
            audit.record(
                "clients.import_file_deleted",
                "client_import",
                batch.id,
                uploaded_at=batch.created_at.isoformat(),
                bytes=size,
                retention_days=days,
            )
        commit()
        deleted += len(batches)
    return deleted
