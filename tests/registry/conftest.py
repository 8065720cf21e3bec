"""Factories for registry tests: valid client payloads and clients registered through the service."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from srs.core.transaction import commit
from srs.registry import services
from srs.registry.idnumbers import make_nik, make_vn_pid
from tests.factories import user  # noqa: F401 - the folder's tests import it from here

_serials = itertools.count(1)

VILLAGE_ID1 = "35.16.08.2003"  # Kabupaten Mojokerto (officer.id1)
VILLAGE_ID2 = "35.76.01.1007"  # Kota Mojokerto (officer.id2)
COMMUNE_VN = "00070"  # Phường Hoàn Kiếm (officer.vn1)


def nik_for(birth: date, sex: str, region_digits: str = "351608") -> str:
    return make_nik(region_digits, birth, sex, next(_serials))


def payload(**overrides: Any) -> dict[str, Any]:
    """A valid registration body: a woman with a NIK in officer.id1's village."""
    birth = date.fromisoformat(overrides.get("date_of_birth", "1988-06-05"))
    sex = overrides.get("sex", "female")
    body: dict[str, Any] = {
        "id_type": "nik",
        "id_number": nik_for(birth, sex),
        "full_name": "Siti Aminah",
        "sex": sex,
        "date_of_birth": birth.isoformat(),
        "phone": None,
        "region_code": VILLAGE_ID1,
        "address": "Dusun Krajan RT 02",
        "occupation": "Pedagang sayur",
        "work_status": "self_employed",
        "monthly_income": 1500000,
        "household_size": 4,
        "disability": False,
        "in_education": False,
        "poverty_status": "near_poor",
        "welfare_decile": 3,
        "enrolments": [],
        "consent": {"given": True, "date": "2026-01-15", "scope": "Screening and referral"},
    }
    body.update(overrides)
    return body


def vn_payload(**overrides: Any) -> dict[str, Any]:
    birth = date.fromisoformat(overrides.get("date_of_birth", "1990-03-12"))
    sex = overrides.get("sex", "female")
    return payload(
        **{
            "id_type": "vn_pid",
            "id_number": make_vn_pid(1, birth, sex, next(_serials)),
            "full_name": "Nguyễn Thị Hương",
            "region_code": COMMUNE_VN,
            "phone": None,
            "date_of_birth": birth.isoformat(),
            "sex": sex,
            **overrides,
        }
    )


@pytest.fixture
def register_client(app, demo):  # type: ignore[no-untyped-def]
    """``register_client("officer.id1", **fields)`` registers a client through the service and commits."""

    def _make(username: str = "officer.id1", **fields: Any) -> int:
        with app.test_request_context():
            data = fields.pop("data", None) or payload(**fields)
            client = services.register_client(data, user(username)).client
            client_id = client.id
            commit()
        return client_id

    return _make
