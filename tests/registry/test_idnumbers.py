"""ID number checks: each message names the part of the number that is wrong."""

from __future__ import annotations

from datetime import date

import pytest

from srs.registry.idnumbers import check_nik, check_vn_pid, make_nik, make_vn_pid, normalise_number
from srs.registry.normalise import fold_name, parse_phone

WOMAN = date(1988, 6, 5)


@pytest.fixture(autouse=True)
def _ctx(app_ctx):
    yield


def test_a_valid_nik_for_a_woman_has_40_added_to_the_day():
    nik = make_nik("351608", WOMAN, "female", 1)
    assert nik == "3516084506880001"
    assert check_nik(nik, WOMAN, "female") == []


def test_a_womans_nik_typed_with_sex_male_says_so():
    problems = check_nik("3516084506880001", WOMAN, "male")
    assert len(problems) == 1
    assert "Digits 7-8" in problems[0] and "woman" in problems[0] and "male" in problems[0]


def test_a_mans_nik_typed_with_sex_female_says_so():
    nik = make_nik("351608", WOMAN, "male", 2)
    assert check_nik(nik, WOMAN, "male") == []
    assert "man" in check_nik(nik, WOMAN, "female")[0]


def test_birth_date_mismatch_names_digits_7_to_12():
    problems = check_nik("3516084506880001", date(1988, 6, 6), "female")
    assert problems == ["Digits 7-12 (birth date) say 05-06-88, but the birth date typed is 06-06-88."]


@pytest.mark.parametrize(
    ("nik", "part"),
    [
        ("351608450688001", "16 digits"),
        ("35160845068800A1", "16 digits"),
        ("9916084506880001", "Digits 1-2"),
        ("3500084506880001", "Digits 3-4"),
        ("3516004506880001", "Digits 5-6"),
        ("3516083506880001", "Digits 7-8"),
        ("3516084513880001", "Digits 9-10"),
        ("3516084506880000", "Digits 13-16"),
    ],
)
def test_structure_problems_name_the_part(nik, part):
    problems = check_nik(nik, None, None)
    assert problems and part in problems[0]


def test_vn_pid_century_sex_digit_and_year():
    pid = make_vn_pid(1, date(1990, 3, 12), "female", 123456)
    assert pid == "001190123456"
    assert check_vn_pid(pid, date(1990, 3, 12), "female") == []
    assert "Digit 4" in check_vn_pid(pid, date(1990, 3, 12), "male")[0]
    assert "1990" in check_vn_pid(pid, date(1991, 3, 12), "female")[0]
    born_2003 = make_vn_pid(79, date(2003, 1, 1), "male", 1)
    assert born_2003[3] == "2" and check_vn_pid(born_2003, date(2003, 1, 1), "male") == []


def test_vn_pid_structure():
    assert "12 digits" in check_vn_pid("00119012345", None, None)[0]
    assert "Digits 1-3" in check_vn_pid("003190123456", None, None)[0]


def test_numbers_typed_with_separators_are_normalised():
    assert normalise_number("3516 0845-0688.0001") == "3516084506880001"


def test_name_folding():
    assert fold_name("  Nguyễn  Thị HƯƠNG ") == "nguyen thi huong"
    assert fold_name("Đặng Văn Đức") == "dang van duc"
    assert fold_name("Awang-Awang") == "awang awang"


def test_phones_to_e164():
    assert parse_phone("0812 3456 7890", "ID") == "+6281234567890"
    assert parse_phone("0912 345 678", "VN") == "+84912345678"
    assert parse_phone("12345", "ID") is None
