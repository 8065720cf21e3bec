"""The agency record."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from srs.extensions import Model

DELIVERY_CHANNELS = ("inbox", "webhook", "email")


class Agency(Model):
    """A government agency that receives referrals for its programmes."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # Where and how the public reaches the agency (the referral letter, the programme list): kept
    # apart from the e-mail referrals are sent to.
    address: Mapped[str | None] = mapped_column(String(300))
    public_phone: Mapped[str | None] = mapped_column(String(40))
    public_email: Mapped[str | None] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20), default="inbox")
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    response_days: Mapped[int] = mapped_column(default=10)
    active: Mapped[bool] = mapped_column(default=True)

    def public_contact(self) -> dict[str, str | None]:
        """How the public reaches the agency: address, phone, e-mail, opening hours."""
        return {
            "address": self.address,
            "phone": self.public_phone,
            "email": self.public_email,
            "opening_hours": self.opening_hours,
        }

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"
