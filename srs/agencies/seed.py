"""The demo agencies."""

from __future__ import annotations

from sqlalchemy import select

from srs.agencies.models import Agency
from srs.extensions import db

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

# How the public reaches two of them (demo values; an administrator keeps the real ones).
DEMO_CONTACTS: dict[str, dict[str, str]] = {
    "BPJSTK": {
        "address": "Jl. Jenderal Gatot Subroto No. 79, Jakarta Selatan",
        "public_phone": "175",
        "opening_hours": "Senin-Jumat 08.00-15.00",
    },
    "VSS": {
        "address": "Số 7 Tràng Thi, Hoàn Kiếm, Hà Nội",
        "public_phone": "1900 9068",
        "opening_hours": "Thứ Hai-Thứ Sáu 08:00-17:00",
    },
}


def seed_agencies() -> int:
    """Create the demo agencies that are missing; returns how many were added."""
    created = 0
    for code, name, country, channel, days in DEMO_AGENCIES:
        if db.session.scalar(select(Agency).where(Agency.code == code)) is None:
            agency = Agency(code=code, name=name, country=country, channel=channel, response_days=days)
            for attribute, value in DEMO_CONTACTS.get(code, {}).items():
                setattr(agency, attribute, value)
            db.session.add(agency)
            created += 1
    db.session.flush()
    return created
