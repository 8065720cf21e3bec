"""The administrative hierarchy."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from srs.extensions import Model


class Region(Model):
    """One administrative unit with its official code.

    ``path`` holds the codes from the top down joined by "/" and ending in "/" (``ID/35/35.16/``), so
    "this region and everything below it" is a prefix match that an index serves.
    """

    __tablename__ = "regions"
    __table_args__ = (Index("ix_regions_path", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    path: Mapped[str] = mapped_column(String(400))
    depth: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    def covers(self, other: Region) -> bool:
        """True when ``other`` is this region or lies below it."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
