"""The demo users: one or more of every role, all with the demo password."""

from __future__ import annotations

from sqlalchemy import select

from srs.accounts import services as accounts
from srs.accounts.models import User
from srs.extensions import db
from srs.regions.demo_data import DEMO_USER_REGIONS

DEMO_USERS = [
    # username, full name, role, agency code
    ("admin", "Admin SRS", "admin", None),
    ("officer.id1", "Siti Rahayu", "officer", None),
    ("officer.id2", "Budi Santoso", "officer", None),
    ("officer.vn1", "Nguyễn Thị Lan", "officer", None),
    ("supervisor.id", "Dewi Lestari", "supervisor", None),
    ("agency.bpjstk", "Agus Wibowo", "agency_staff", "BPJSTK"),
    ("agency.vn.vss", "Trần Văn Minh", "agency_staff", "VSS"),
    # One more staff account per agency, so every demo referral can be answered.
    ("agency.bpjskes", "Rina Wulandari", "agency_staff", "BPJSKES"),
    ("agency.kemensos", "Hendra Gunawan", "agency_staff", "KEMENSOS"),
    ("agency.kemnaker", "Yuliana Sari", "agency_staff", "KEMNAKER"),
    ("agency.vn.molisa", "Lê Thị Hoa", "agency_staff", "MOLISA"),
    ("agency.vn.esc", "Phạm Quốc Huy", "agency_staff", "ESC-HN"),
]


def seed_users(password: str) -> list[str]:
    """Create the demo users that are missing (every role); one line per demo user."""
    lines = []
    for username, full_name, role, agency_code in DEMO_USERS:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            accounts.create_user(
                accounts.UserInput(
                    username=username,
                    full_name=full_name,
                    email=f"{username}@example.org",
                    role=role,
                    region_codes=DEMO_USER_REGIONS.get(username, []),
                    agency_code=agency_code,
                    password=password,
                )
            )
        lines.append(f"  {username:<16} {role}")
    return lines
