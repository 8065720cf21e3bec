# ruff: noqa: E501  (catalogue texts are data; wrapping them would not help a reader)
"""The demo catalogue: real Indonesian and Vietnamese programmes with their rules (sources in docs/programmes.md).

Figures marked unverified in docs/programmes.md are defaults an administrator changes in the rule
editor; each version records its source.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from srs.agencies.models import Agency
from srs.core import clock
from srs.extensions import db
from srs.programmes.models import Programme, RateVersion, RuleVersion, Screening
from srs.programmes.rules import check

NON_WAGE = ["informal", "self_employed", "msme_worker"]
POOR_OR_LOW_DECILE = {
    "any": [
        {"field": "poverty_status", "op": "=", "value": "poor"},
        {"field": "welfare_decile", "op": "<=", "value": 4},
    ]
}

CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "ID-BPJSTK-BPU",
        "functions": ["employment_injury", "survivors", "old_age"],
        "contributory": True,
        "agency": "BPJSTK",
        "country": "ID",
        "kind": "social_insurance",
        "names": {
            "en": "BPJS Ketenagakerjaan for non-wage workers (BPU)",
            "id": "BPJS Ketenagakerjaan Bukan Penerima Upah (BPU)",
            "vi": "BPJS Ketenagakerjaan cho lao động không hưởng lương",
        },
        "descriptions": {
            "en": "Work accident (JKK), death (JKM) and optional old-age savings (JHT) for people working outside an employment relationship."
        },
        "benefit": {"en": "JKK 1% of declared income, JKM Rp 6,800 a month, JHT 2% (optional)."},
        "required_documents": ["NIK (KTP)", "Phone number"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "phone",
            "address",
            "occupation",
            "monthly_income",
        ],
        "criteria": {
            "all": [
                {"field": "work_status", "op": "in", "value": NON_WAGE},
                {"field": "age", "op": "between", "value": [15, 65]},
            ]
        },
        "source": "BPJS Ketenagakerjaan BPU participation (Permenaker 5/2021); age limits 15-65 unverified default.",
    },
    {
        "code": "ID-JKN-PBI",
        "functions": ["sickness_health", "maternity"],
        "contributory": False,
        "agency": "BPJSKES",
        "country": "ID",
        "kind": "health_insurance",
        "names": {
            "en": "JKN-KIS PBI (state-paid health insurance)",
            "id": "JKN-KIS Penerima Bantuan Iuran (PBI)",
            "vi": "JKN-KIS PBI (bảo hiểm y tế do nhà nước đóng)",
        },
        "descriptions": {
            "en": "National health insurance with contributions paid by the state for the poor and those unable to pay."
        },
        "benefit": {"en": "Government pays Rp 42,000 per person per month (Perpres 64/2020)."},
        "required_documents": ["NIK (KTP)", "Family card (KK)"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "address",
            "poverty_status",
            "welfare_decile",
        ],
        "criteria": {"all": [POOR_OR_LOW_DECILE]},
        "source": "Perpres 64/2020; PBI listed in DTSEN. Decile cut-off 4 is an unverified default.",
    },
    {
        "code": "ID-PKH",
        "functions": ["children_family", "social_assistance"],
        "contributory": False,
        "agency": "KEMENSOS",
        "country": "ID",
        "kind": "social_assistance",
        "names": {
            "en": "PKH family cash transfer",
            "id": "Program Keluarga Harapan (PKH)",
            "vi": "PKH chuyển tiền cho gia đình",
        },
        "descriptions": {
            "en": "Conditional cash transfer for poor families with pregnant women, young children, pupils, people with severe disability or elderly members."
        },
        "benefit": {
            "en": "Per year (2025): pregnancy 3,000,000; child 0-6 3,000,000; primary 900,000; junior secondary 1,500,000; senior secondary 2,000,000; severe disability 2,400,000; elderly 2,400,000."
        },
        "required_documents": ["NIK (KTP)", "Family card (KK)"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "address",
            "household_size",
            "poverty_status",
            "welfare_decile",
        ],
        "criteria": {
            "all": [
                POOR_OR_LOW_DECILE,
                {
                    "any": [
                        {"field": "has_pregnant_member", "op": "=", "value": True},
                        {"field": "has_child_under_6", "op": "=", "value": True},
                        {"field": "has_school_age_child", "op": "=", "value": True},
                        {"field": "disability", "op": "=", "value": True},
                        {"field": "has_member_60_plus", "op": "=", "value": True},
                    ]
                },
            ]
        },
        "source": "Kemensos PKH components 2025; DTSEN listing approximated by poverty status or decile <= 4 (unverified); elderly cut-off 60 unverified.",
    },
    {
        "code": "ID-BPNT",
        "functions": ["social_assistance"],
        "contributory": False,
        "agency": "KEMENSOS",
        "country": "ID",
        "kind": "social_assistance",
        "names": {
            "en": "BPNT / Sembako food aid",
            "id": "Bantuan Pangan Non Tunai (BPNT) / Sembako",
            "vi": "BPNT / hỗ trợ lương thực Sembako",
        },
        "descriptions": {"en": "Monthly non-cash food assistance for low-income households."},
        "benefit": {"en": "Monthly food credit (amount unverified)."},
        "required_documents": ["NIK (KTP)", "Family card (KK)"],
        "shared_fields": [
            "full_name",
            "id_number",
            "address",
            "household_size",
            "poverty_status",
            "welfare_decile",
        ],
        "criteria": {
            "any": [
                {"field": "poverty_status", "op": "in", "value": ["poor", "near_poor"]},
                {"field": "welfare_decile", "op": "<=", "value": 4},
            ]
        },
        "source": "Gated on DTSEN listing; decile cut-off 4 and near-poor inclusion are unverified defaults.",
    },
    {
        "code": "ID-PRAKERJA",
        "functions": ["employment_service", "unemployment"],
        "contributory": False,
        "agency": "KEMNAKER",
        "country": "ID",
        "kind": "training",
        "names": {
            "en": "Kartu Prakerja (skills training)",
            "id": "Kartu Prakerja",
            "vi": "Kartu Prakerja (đào tạo kỹ năng)",
        },
        "descriptions": {"en": "Skills training credit for job-seekers, workers and laid-off workers."},
        "benefit": {"en": "Training credit and an incentive after training (amounts unverified)."},
        "required_documents": ["NIK (KTP)", "Family card (KK)", "E-mail address"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "phone",
            "occupation",
            "work_status",
        ],
        "criteria": {
            "all": [
                {"field": "age", "op": "between", "value": [18, 64]},
                {"field": "in_education", "op": "=", "value": False},
            ]
        },
        "source": "Kartu Prakerja rules: age 18-64, not in formal education. Exclusions (civil servants, military, police, village officials, SOE directors; at most 2 NIKs per KK) are checked by the agency.",
    },
    {
        "code": "VN-BHXH-TN",
        "functions": ["old_age", "survivors"],
        "contributory": True,
        "agency": "VSS",
        "country": "VN",
        "kind": "social_insurance",
        "names": {
            "en": "Voluntary social insurance",
            "id": "Asuransi sosial sukarela (Vietnam)",
            "vi": "Bảo hiểm xã hội tự nguyện",
        },
        "descriptions": {"en": "Pension and death benefits for people outside compulsory social insurance."},
        "benefit": {
            "en": "Contribution 22% of a chosen income; state support on the rural-poverty-line income for up to 120 months: poor 50%, near-poor 40%, ethnic minorities 30%, others 20% (Decree 159/2025)."
        },
        "required_documents": ["Personal ID (CCCD)"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "phone",
            "address",
            "poverty_status",
            # The support group (Decree 159/2025): the agency needs it to apply the 30%.
            "ethnic_minority",
        ],
        "criteria": {
            "all": [
                {"field": "age", "op": ">=", "value": 15},
                {"field": "work_status", "op": "!=", "value": "formal"},
            ]
        },
        "source": "Social Insurance Law 2024 (from 1 July 2025); Decree 159/2025 for the state support.",
    },
    {
        "code": "VN-BHYT-HGD",
        "functions": ["sickness_health", "maternity"],
        "contributory": True,
        "agency": "VSS",
        "country": "VN",
        "kind": "health_insurance",
        "names": {
            "en": "Household health insurance",
            "id": "Asuransi kesehatan rumah tangga (Vietnam)",
            "vi": "Bảo hiểm y tế hộ gia đình",
        },
        "descriptions": {
            "en": "Health insurance bought per household for people not covered through work or the state."
        },
        "benefit": {
            "en": "4.5% of the base salary (VND 2.34 million) = VND 105,300 a month for the first member; 2nd 70%, 3rd 60%, 4th 50%, 5th+ 40%; near-poor subsidised at least 70% (Decree 188/2025)."
        },
        "required_documents": ["Personal ID (CCCD)", "Household members' IDs"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "address",
            "household_size",
            "poverty_status",
        ],
        "criteria": {
            "all": [
                {"field": "work_status", "op": "!=", "value": "formal"},
                {"field": "poverty_status", "op": "in", "value": ["near_poor", "not_poor"]},
            ]
        },
        "source": "Health Insurance Law; Decree 188/2025. Poor households get state-paid cards instead (so excluded here).",
    },
    {
        "code": "VN-TCXH",
        "functions": ["social_assistance", "disability", "old_age"],
        "contributory": False,
        "agency": "MOLISA",
        "country": "VN",
        "kind": "social_assistance",
        "names": {
            "en": "Monthly social assistance",
            "id": "Bantuan sosial bulanan (Vietnam)",
            "vi": "Trợ cấp xã hội hằng tháng",
        },
        "descriptions": {
            "en": "Monthly allowance for elderly people, orphaned children, poor single parents and people with disabilities."
        },
        "benefit": {
            "en": "Standard level VND 500,000 (Decree 76/2024) times a coefficient: elderly in poor households x1.5 at 60-80, x2.0 at 80+; 80+ without pension x1.0."
        },
        "required_documents": ["Personal ID (CCCD)", "Application form (Decree 20/2021)"],
        "shared_fields": [
            "full_name",
            "id_number",
            "sex",
            "date_of_birth",
            "address",
            "disability",
            "poverty_status",
        ],
        "criteria": {
            "any": [
                {"field": "age", "op": ">=", "value": 80},
                {
                    "all": [
                        {"field": "age", "op": ">=", "value": 60},
                        {"field": "poverty_status", "op": "=", "value": "poor"},
                    ]
                },
                {
                    "all": [
                        {"field": "disability", "op": "=", "value": True},
                        {"field": "poverty_status", "op": "in", "value": ["poor", "near_poor"]},
                    ]
                },
            ]
        },
        "source": "Decree 20/2021 and Decree 76/2024. The pension condition for people 80+ and the disability categories are checked by the commune (unverified simplification).",
    },
    {
        "code": "VN-ESC-HN",
        "functions": ["employment_service"],
        "contributory": False,
        "agency": "ESC-HN",
        "country": "VN",
        "kind": "employment_service",
        "names": {
            "en": "Employment service centre (Ha Noi)",
            "id": "Pusat layanan kerja (Hanoi)",
            "vi": "Trung tâm Dịch vụ việc làm Hà Nội",
        },
        "descriptions": {
            "en": "Counselling, job placement and vocational training; self-employed informal workers normally do not qualify for unemployment insurance and are referred here."
        },
        "benefit": {"en": "Free counselling and placement; training support."},
        "required_documents": ["Personal ID (CCCD)"],
        "shared_fields": ["full_name", "sex", "date_of_birth", "phone", "occupation", "work_status"],
        "criteria": {
            "all": [
                {"field": "age", "op": ">=", "value": 15},
                {"field": "work_status", "op": "in", "value": ["unemployed", "informal", "self_employed"]},
                {"field": "region", "op": "in", "value": ["01"]},
            ]
        },
        "source": "Employment Law; the centre serves residents of Ha Noi (region 01).",
    },
]


def seed_catalogue(password: str) -> list[str]:
    """Add the demo programmes that are missing, each with a published version 1 (idempotent)."""
    added = []
    # An agency reached by e-mail needs an address (the catalogue import refuses one without it).
    for agency in db.session.scalars(
        select(Agency).where(Agency.channel == "email", Agency.contact_email.is_(None))
    ):
        agency.contact_email = f"referrals@{agency.code.lower()}.example.org"
    for spec in CATALOGUE:
        if db.session.scalar(select(Programme).where(Programme.code == spec["code"])) is not None:
            continue
        programme_agency = db.session.scalar(select(Agency).where(Agency.code == spec["agency"]))
        if programme_agency is None:
            continue
        programme = Programme(
            code=spec["code"],
            agency=programme_agency,
            country=spec["country"],
            kind=spec["kind"],
            functions=spec["functions"],
            contributory=spec["contributory"],
            names=spec["names"],
            descriptions=spec["descriptions"],
            benefit=spec["benefit"],
            required_documents=spec["required_documents"],
            shared_fields=spec["shared_fields"],
            active=True,
        )
        db.session.add(programme)
        db.session.flush()
        version = RuleVersion(
            programme_id=programme.id,
            number=1,
            criteria=check(spec["criteria"]),
            status="published",
            source=spec["source"],
        )
        db.session.add(version)
        db.session.flush()
        version.published_at = version.created_at
        programme.current_version_id = version.id
        added.append(spec["code"])
    db.session.flush()
    return [f"Programmes added: {len(added)} ({', '.join(added) or 'none'})"]


# The rate tables (shared/DOMAIN.md "Contribution and support rates"; sources in docs/estimates.md).
# Figures marked unverified there are defaults an administrator replaces with a new version.
VN_BASE_SALARY = 2_340_000
RATES: list[dict[str, Any]] = [
    {
        "programme": "ID-BPJSTK-BPU",
        "scheme": "bpjstk_bpu",
        "currency": "IDR",
        "effective_from": date(2015, 7, 1),
        "params": {"jkk_percent": 1, "jkm_monthly": 6800, "jht_percent": 2, "min_income": 1_000_000},
        "source": "PP 44/2015 (JKK, JKM) and PP 46/2015 (JHT), BPU participation Permenaker 5/2021. The lowest declared income Rp 1,000,000 is an unverified default (bracket steps unverified).",
    },
    {
        "programme": "ID-JKN-PBI",
        "scheme": "jkn",
        "currency": "IDR",
        "effective_from": date(2021, 1, 1),
        "params": {
            "classes": {"I": 150_000, "II": 100_000, "III": 42_000},
            "state_support": {"III": 7_000},
            "class": "III",
            "state_paid": True,
        },
        "source": "Perpres 64/2020 art. 34: class I Rp 150,000, II Rp 100,000, III Rp 42,000 (member Rp 35,000, state Rp 7,000 from 2021) per person per month; PBI contributions paid by the state.",
    },
    {
        "programme": "VN-BHXH-TN",
        "scheme": "vn_voluntary_si",
        "currency": "VND",
        "effective_from": date(2022, 1, 1),
        "params": {
            "percent": 22,
            "min_income": 1_500_000,
            "max_income": 20 * VN_BASE_SALARY,
            "support": {"poor": 30, "near_poor": 25, "ethnic_minority": 10, "other": 10},
            "support_months": None,
            "topups": [],
        },
        "source": "Decree 134/2015 (state support 30/25/10%); rural poverty line VND 1,500,000 (Decree 07/2021). The highest income (20 times the base salary) is an unverified default.",
    },
    {
        "programme": "VN-BHXH-TN",
        "scheme": "vn_voluntary_si",
        "currency": "VND",
        "effective_from": date(2025, 7, 1),
        "params": {
            "percent": 22,
            "min_income": 1_500_000,
            "max_income": 20 * VN_BASE_SALARY,
            "support": {"poor": 50, "near_poor": 40, "ethnic_minority": 30, "other": 20},
            "support_months": 120,
            "topups": [
                {"region": "01", "name": "Thành phố Hà Nội", "group": "poor", "percent": 20},
                {"region": "01", "name": "Thành phố Hà Nội", "group": "near_poor", "percent": 15},
                {"region": "01", "name": "Thành phố Hà Nội", "group": "ethnic_minority", "percent": 10},
                {"region": "01", "name": "Thành phố Hà Nội", "group": "other", "percent": 10},
            ],
        },
        "source": "Social Insurance Law 2024 and Decree 159/2025 (state support of the contribution on the rural poverty line VND 1,500,000: poor 50%, near-poor 40%, ethnic minorities 30%, others 20%, up to 120 months). Ha Noi top-up rows are unverified defaults (Ha Noi People's Council resolution: check the figures). The highest income (20 times the base salary) is an unverified default.",
    },
    {
        "programme": "VN-BHYT-HGD",
        "scheme": "vn_household_hi",
        "currency": "VND",
        "effective_from": date(2024, 7, 1),
        "params": {
            "percent": 4.5,
            "base_salary": VN_BASE_SALARY,
            "member_shares": [100, 70, 60, 50, 40],
            "support": {"near_poor": 70},
        },
        "source": "Health Insurance Law; Decree 188/2025 (4.5% of the base salary for the first member, 70/60/50/40% for the next; near-poor supported at least 70%); base salary VND 2,340,000 (Decree 73/2024).",
    },
]


def seed_rates(_password: str) -> list[str]:
    """Add the rate tables of the demo programmes that have none yet, published (idempotent)."""
    added = 0
    numbers: dict[int, int] = {}
    for spec in RATES:
        programme = db.session.scalar(select(Programme).where(Programme.code == spec["programme"]))
        if programme is None:
            continue
        if programme.id not in numbers:
            if db.session.scalar(select(RateVersion.id).where(RateVersion.programme_id == programme.id)):
                numbers[programme.id] = -1  # has rates already: left alone
                continue
            numbers[programme.id] = 0
        if numbers[programme.id] < 0:
            continue
        numbers[programme.id] += 1
        version = RateVersion(
            programme_id=programme.id,
            number=numbers[programme.id],
            scheme=spec["scheme"],
            currency=spec["currency"],
            params=spec["params"],
            effective_from=spec["effective_from"],
            source=spec["source"],
            status="published",
        )
        db.session.add(version)
        db.session.flush()
        version.published_at = version.created_at
        added += 1
    db.session.flush()
    return [f"Rate versions added: {added}"]


def seed_screenings(_password: str) -> list[str]:
    """Screen two demo clients in three, so reports and referrals have something to show.

    Idempotent: clients screened already are left alone. The screening is recorded as done by the
    administrator, since no officer sat with these made-up people.
    """
    from srs.accounts.models import User
    from srs.programmes.screening import prepare, screen
    from srs.programmes.services import active_programmes
    from srs.registry.models import Client

    admin = db.session.scalar(select(User).where(User.username == "admin"))
    screened = set(db.session.scalars(select(Screening.client_id)))
    clients = [
        c
        for c in db.session.scalars(select(Client).where(Client.merged_into_id.is_(None)).order_by(Client.id))
        if c.id % 3 != 0 and c.id not in screened
    ]
    prepared_by_country: dict[str, list[Any]] = {}
    for client in clients:
        country = client.region.country
        if country not in prepared_by_country:
            prepared_by_country[country] = prepare(active_programmes(country, clock.today()))
        screening = screen(client, admin, trigger="seed", prepared=prepared_by_country[country])
        # Screened at the office on the day of registration (never later than now: a client registered
        # just now, such as a demo duplicate, is screened now).
        screening.screened_at = min(client.created_at + timedelta(hours=1), clock.now())
    return [f"Screenings: {len(clients)} demo clients screened against every active programme."]
