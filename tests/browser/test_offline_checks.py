"""The offline form's ID and phone checks, run in the browser from the served rules, agree with the server."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from srs.registry.idnumbers import check_id_number, make_nik, make_vn_pid
from srs.registry.normalise import parse_phone
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def _cases() -> list[dict[str, Any]]:
    rng = random.Random(14)
    cases = []
    for _ in range(150):
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 34000))
        sex = rng.choice(["female", "male"])
        typed_sex = sex if rng.random() < 0.7 else rng.choice(["female", "male"])
        typed_birth = birth if rng.random() < 0.7 else birth + timedelta(days=rng.choice([1, 40, 400]))
        nik = make_nik(rng.choice(["351608", "357601", "990101", "350001"]), birth, sex, rng.randrange(0, 3))
        pid = make_vn_pid(rng.choice([1, 79, 3, 0]), birth, sex, rng.randrange(0, 999999))
        for id_type, number in (("nik", nik), ("vn_pid", pid)):
            if rng.random() < 0.2:  # a typing slip: one digit changed or one missing
                i = rng.randrange(len(number))
                number = number[:i] + (str(rng.randrange(10)) if rng.random() < 0.5 else "") + number[i + 1 :]
            cases.append(
                {"type": id_type, "number": number, "birth": typed_birth.isoformat(), "sex": typed_sex}
            )
    return cases


PHONES = [
    ("ID", "0812 3456 7890"),
    ("ID", "+62 812-3456-7890"),
    ("ID", "12"),
    ("ID", "0812"),
    ("ID", "021 500 600"),
    ("VN", "0912 345 678"),
    ("VN", "+84 912 345 678"),
    ("VN", "0012 345 678"),
    ("VN", "091234"),
    ("ID", "+84 912 345 678"),
    ("VN", "+62 812-3456-7890"),
    ("ID", "+84 12"),
]


def test_id_and_phone_checks_in_the_browser_agree_with_the_server(page, demo):
    sign_in(page, "officer.id1", DEMO_PASSWORD)
    page.wait_for_function("() => !!window.srsOffline")
    cases = _cases()
    verdicts = page.evaluate(
        """async ([cases, phones]) => {
          const table = await (await fetch('/offline/fields')).json();
          const byName = Object.fromEntries(table.items.map(f => [f.name, f]));
          const rules = byName.id_number.id_rules, phone = byName.phone.phone_rules;
          return {
            ids: cases.map(c => srsOffline.checkIdNumber(
              rules[c.type], c.number, new Date(c.birth + 'T00:00:00Z'), c.sex).length === 0),
            phones: phones.map(([country, number]) => srsOffline.checkPhone(phone, country, number)),
          };
        }""",
        [cases, PHONES],
    )
    server_ids = [
        not check_id_number(c["type"], c["number"], date.fromisoformat(c["birth"]), c["sex"]) for c in cases
    ]
    disagree = [c for c, js, py in zip(cases, verdicts["ids"], server_ids, strict=True) if js != py]
    assert not disagree, disagree[:5]
    assert 20 < sum(server_ids) < len(cases) - 20  # both verdicts well represented
    server_phones = [parse_phone(number, country) is not None for country, number in PHONES]
    assert verdicts["phones"] == server_phones
