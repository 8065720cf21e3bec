"""The devices an officer registers people on while offline, and the key each one encrypts with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model


class OfflineDevice(Model):
    """One browser of one user; ``secret`` is the AES-GCM key its device store is encrypted with.

    Handed out only to a valid session of the user on that device; revoked (never handed out again)
    when the user signs out there or is deactivated.
    """

    __tablename__ = "offline_devices"
    __table_args__ = (UniqueConstraint("user_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(64))  # 32 random bytes, URL-safe base64
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_key_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
