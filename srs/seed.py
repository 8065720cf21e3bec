"""Demo data: regions, agencies, users (and what later features add)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from srs.accounts import services as accounts
from srs.accounts.models import User
from srs.extensions import db
from srs.programmes.models import Agency
from srs.regions.demo_data import DEMO_USER_REGIONS
from srs.regions.seed import seed_regions

DEMO_AGENCIES = [
    # code, name, country, channel, response working days
    ("BPJSTK", "BPJS Ketenagakerjaan", "ID", "inbox", 10),
    ("BPJSKES", "BPJS Kesehatan", "ID", "inbox", 10),
    ("KEMENSOS", "Kementerian Sosial (Dinas Sosial)", "ID", "inbox", 14),
    ("KEMNAKER", "Kementerian Ketenagakerjaan (Kartu Prakerja)", "ID", "email", 10),
    ("VSS", "Bảo hiểm xã hội Việt Nam (Viet Nam Social Security)", "VN", "inbox", 10),
    ("MOLISA", "Sở Y tế – Phòng Bảo trợ xã hội (social assistance)", "VN", "inbox", 15),
    ("ESC-HN", "Trung tâm Dịch vụ việc làm Hà Nội (Employment Service Centre)", "VN", "inbox", 7),
]

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

# Later features add their steps (programmes 20, clients 30, screenings 40, referrals 50, cases 60),
# each idempotent; a step takes the demo password and returns lines to print.
EXTRA_STEPS: list[tuple[int, Callable[[str], list[str]]]] = []


def register_seed_step(order: int, step: Callable[[str], list[str]]) -> None:
    if all(existing is not step for _o, existing in EXTRA_STEPS):
        EXTRA_STEPS.append((order, step))


def seed_agencies() -> int:
    created = 0
    for code, name, country, channel, days in DEMO_AGENCIES:
        if db.session.scalar(select(Agency).where(Agency.code == code)) is None:
            db.session.add(Agency(code=code, name=name, country=country, channel=channel, response_days=days))
            created += 1
    db.session.flush()
    return created


def seed_users(password: str) -> list[str]:
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


def seed_demo(password: str) -> list[str]:
    """Create the demo data that is missing; returns lines to print."""
    regions = seed_regions()
    db.session.flush()
    agencies = seed_agencies()
    users = seed_users(password)
    summary = [f"Regions in the tree: {regions}; agencies added: {agencies}", "Demo users:", *users]
    for _order, step in sorted(EXTRA_STEPS, key=lambda item: item[0]):
        db.session.flush()
        summary.extend(step(password))
    return summary
