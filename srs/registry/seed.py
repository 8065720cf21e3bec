"""Demo clients: a few hundred realistic people across the demo regions, with valid ID numbers,
households, and a few probable duplicates waiting in the review queue."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import func, select

from srs.accounts.models import User
from srs.core import clock
from srs.extensions import db
from srs.regions.models import Region
from srs.registry import members, services
from srs.registry.idnumbers import make_nik, make_vn_pid
from srs.registry.models import Client
from srs.registry.normalise import parse_phone

PER_VILLAGE = 30
OCCUPATIONS_ID = ["Pedagang kaki lima", "Buruh tani", "Ojek online", "Penjahit", "Nelayan", "Tukang bangunan"]
OCCUPATIONS_VN = ["Bán hàng rong", "Thợ may", "Xe ôm công nghệ", "Nông dân", "Giúp việc gia đình", "Thợ xây"]
WORK = ["informal", "self_employed", "msme_worker", "unemployed", "informal"]
CONSENT_SCOPE = "Screening and referral to social protection and employment programmes"
# Faker's vi_VN locale has family names but no Vietnamese given names: those come from here.
VN_GIVEN_FEMALE = [
    "Hương",
    "Lan",
    "Mai",
    "Hoa",
    "Linh",
    "Trang",
    "Hà",
    "Phương",
    "Thảo",
    "Ngọc",
    "Yến",
    "Thủy",
]
VN_GIVEN_FEMALE += ["Hạnh", "Nhung", "Oanh", "Vân", "Hằng", "Dung"]
VN_GIVEN_MALE = ["Nam", "Hùng", "Dũng", "Tuấn", "Minh", "Anh", "Hải", "Long", "Sơn", "Quân", "Bình", "Cường"]
VN_GIVEN_MALE += ["Đức", "Hiếu", "Khánh", "Thắng", "Phúc", "Việt"]
VN_MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh"]
VN_MIDDLE_MALE = ["Văn", "Đức", "Quang", "Minh", "Hữu", "Công"]

# NIK region digits per demo village prefix: province, regency/city, sub-district.
_NIK_DIGITS = {"35.16.08": "351608", "35.16.12": "351612", "35.76.01": "357601", "35.76.02": "357602"}
_NIK_DIGITS |= {"34.71.13": "347113", "34.04.07": "340407"}


def _officer_for(region: Region, officers: dict[str, User], admin: User) -> User:
    for user in officers.values():
        if any(region.path.startswith(r.path) for r in user.regions):
            return user
    return admin


def _phone(country: str, rng: random.Random) -> str:
    """A mobile number of a real operator prefix that phonenumbers accepts as valid."""
    while True:
        if country == "ID":
            number = f"08{rng.choice(['11', '12', '13', '21', '22', '52', '53', '57', '58', '77', '78'])}"
            number += f"{rng.randrange(10**7, 10**8)}"
        else:
            number = (
                f"0{rng.choice(['90', '91', '93', '94', '96', '97', '98', '86', '88', '32', '35', '38'])}"
            )
            number += f"{rng.randrange(10**6, 10**7)}"
        if parse_phone(number, country):
            return number


def _person(fake: Faker, region: Region, rng: random.Random, serial: int) -> dict[str, Any]:
    sex = rng.choice(["female", "male"])
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    if region.country == "VN":
        female = sex == "female"
        middle = rng.choice(VN_MIDDLE_FEMALE if female else VN_MIDDLE_MALE)
        name = f"{fake.last_name()} {middle} {rng.choice(VN_GIVEN_FEMALE if female else VN_GIVEN_MALE)}"
    else:
        name = f"{fake.first_name_female() if sex == 'female' else fake.first_name_male()} {fake.last_name()}"
    number: str | None
    if region.country == "ID":
        digits = next((v for k, v in _NIK_DIGITS.items() if region.code.startswith(k)), "351608")
        id_type, number = "nik", make_nik(digits, birth, sex, serial)
        occupation = rng.choice(OCCUPATIONS_ID)
        income = rng.randrange(5, 40) * 100_000
    else:
        id_type, number = "vn_pid", make_vn_pid(1, birth, sex, rng.randrange(0, 10**6))
        occupation = rng.choice(OCCUPATIONS_VN)
        income = rng.randrange(15, 90) * 100_000
    if rng.random() < 0.06:
        id_type, number = "none", None
    consent_day = clock.today() - timedelta(days=rng.randrange(1, 300))
    return {
        "id_type": id_type,
        "id_number": number,
        "full_name": name,
        "sex": sex,
        "date_of_birth": birth.isoformat(),
        "phone": _phone(region.country, rng) if rng.random() < 0.8 else None,
        "region_code": region.code,
        "address": fake.street_address(),
        "occupation": occupation,
        "work_status": rng.choice(WORK),
        "monthly_income": income,
        "household_size": rng.randrange(1, 7),
        "disability": rng.random() < 0.05,
        "in_education": False,
        "poverty_status": rng.choice(["poor", "near_poor", "not_poor", "unknown"]),
        "welfare_decile": rng.randrange(1, 11) if region.country == "ID" else None,
        "welfare_source": "DTSEN" if region.country == "ID" else None,
        "consent": {"given": True, "date": consent_day.isoformat(), "scope": CONSENT_SCOPE},
    }


def _relationship(head: Client, other: Client, spouse_taken: bool) -> str:
    """A relationship that fits the two people's ages and sexes (demo households look believable)."""
    years = (head.date_of_birth - other.date_of_birth).days / 365.25  # > 0: the other is older
    if years >= 16:
        return "parent"
    if years <= -16:
        return "child"
    if not spouse_taken and other.sex != head.sex and abs(years) <= 12:
        return "spouse"
    return "sibling" if abs(years) <= 12 else "other_relative"


def seed_clients(password: str) -> list[str]:
    """Register the demo clients once (does nothing when clients already exist)."""
    if (db.session.scalar(select(func.count()).select_from(Client)) or 0) > 0:
        return ["Clients: already present, none added."]
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    fakers = {"ID": Faker("id_ID"), "VN": Faker("vi_VN")}
    for fake in fakers.values():
        fake.seed_instance(2026)
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    officers = {u.username: u for u in db.session.scalars(select(User).where(User.role == "officer"))}
    if admin is None:
        return ["Clients: no admin user, none added."]
    leaves = [
        r for r in db.session.scalars(select(Region).order_by(Region.path)) if not r.children and r.depth >= 1
    ]
    created: list[Client] = []
    villages: list[list[Client]] = []
    serial = 1
    for region in leaves:
        user = _officer_for(region, officers, admin)
        village: list[Client] = []
        for _i in range(PER_VILLAGE if region.country == "ID" else PER_VILLAGE // 2 + 5):
            data = _person(fakers[region.country], region, rng, serial)
            serial += 1
            client = services.register_client(data, user, source="seed").client
            # Registered over the last seven months, so the dashboard's monthly trend has a history
            # (the screenings and referrals of the demo follow each client's registration).
            client.created_at = clock.now() - timedelta(days=1 + serial * 37 % 210, hours=serial % 9)
            village.append(client)
        # Households: groups of two or three neighbours, plus a child who is not a client.
        for start in range(0, len(village) - 3, 5):
            head, *others = village[start : start + 3]
            spouse_taken = False
            for other in others:
                relationship = _relationship(head, other, spouse_taken)
                spouse_taken = spouse_taken or relationship == "spouse"
                members.add_household_member(
                    head, {"member_client_id": other.id, "relationship_to_head": relationship}, user
                )
            child_birth = clock.today() - timedelta(days=rng.randrange(365 * 2, 365 * 15))
            members.add_household_member(
                head,
                {
                    "full_name": (
                        rng.choice(VN_GIVEN_FEMALE) + " " + head.full_name.split()[0]
                        if region.country == "VN"
                        else fakers["ID"].first_name() + " " + head.full_name.split()[-1]
                    ),
                    "relationship_to_head": "child",
                    "sex": rng.choice(["female", "male"]),
                    "date_of_birth": child_birth.isoformat(),
                    "in_education": "yes",
                },
                user,
            )
            # The family card lists at least everyone recorded, sometimes more (away for work).
            size = len(others) + 2 + rng.choice([0, 0, 1, 2])
            for member in (head, *others):
                member.household_size = size
        created.extend(village)
        villages.append(village)
    # Probable duplicates: the same person registered again without an ID, name typed differently;
    # in every village, so each demo officer and supervisor has some in their review queue.
    duplicates = 0
    for original in [village[3] for village in villages if len(village) > 3]:
        user = _officer_for(original.region, officers, admin)
        data = services.client_input(original)
        data.update(id_type="none", id_number=None, full_name=original.full_name.upper(), phone=None)
        registered = services.register_client(data, user, source="seed")
        registered.client.created_at = min(original.created_at + timedelta(days=20), clock.now())
        duplicates += bool(registered.possible_duplicates)
    return [f"Clients: {len(created)} registered, {duplicates} probable duplicates waiting for review."]
