"""Real regions for the demo seed, with their official codes.

Indonesia: Kemendagri codes (province.regency.district.village) of Kepmendagri No 300.2.2-2138
Tahun 2025. Viet Nam: General Statistics Office codes after the 2025 reorganisation into provinces
and communes (the list of Công văn 1027/CTK-CSCL, 25 June 2025, in force from 1 July 2025).
Every code and name here was checked on 2026-11-29 against public transcriptions of those lists
(for Indonesia the cahyadsn/wilayah data set); check against the official lists themselves before
production use.
"""

from __future__ import annotations

# (code, name, level, children)
RegionSpec = tuple[str, str, str, list["RegionSpec"]]

INDONESIA: list[RegionSpec] = [
    (
        "35",
        "Jawa Timur",
        "province",
        [
            (
                "35.16",
                "Kabupaten Mojokerto",
                "regency",
                [
                    (
                        "35.16.08",
                        "Mojosari",
                        "district",
                        [
                            ("35.16.08.2003", "Awang-awang", "village", []),
                            ("35.16.08.1004", "Kauman", "village", []),
                        ],
                    ),
                    (
                        "35.16.12",
                        "Trowulan",
                        "district",
                        [
                            ("35.16.12.2007", "Trowulan", "village", []),
                            ("35.16.12.2008", "Bejijong", "village", []),
                        ],
                    ),
                ],
            ),
            (
                "35.76",
                "Kota Mojokerto",
                "city",
                [
                    (
                        "35.76.01",
                        "Prajuritkulon",
                        "district",
                        [
                            ("35.76.01.1007", "Surodinawan", "village", []),
                            ("35.76.01.1006", "Prajuritkulon", "village", []),
                        ],
                    ),
                    (
                        "35.76.02",
                        "Magersari",
                        "district",
                        [
                            ("35.76.02.1001", "Gununggedangan", "village", []),
                            ("35.76.02.1003", "Magersari", "village", []),
                        ],
                    ),
                ],
            ),
        ],
    ),
    (
        "34",
        "Daerah Istimewa Yogyakarta",
        "province",
        [
            (
                "34.71",
                "Kota Yogyakarta",
                "city",
                [
                    (
                        "34.71.13",
                        "Umbulharjo",
                        "district",
                        [
                            ("34.71.13.1007", "Giwangan", "village", []),
                        ],
                    ),
                ],
            ),
            (
                "34.04",
                "Kabupaten Sleman",
                "regency",
                [
                    (
                        "34.04.07",
                        "Depok",
                        "district",
                        [
                            ("34.04.07.2001", "Caturtunggal", "village", []),
                        ],
                    ),
                ],
            ),
        ],
    ),
]

VIET_NAM: list[RegionSpec] = [
    (
        "01",
        "Thành phố Hà Nội",
        "province",
        [
            ("00070", "Phường Hoàn Kiếm", "commune", []),
            ("00004", "Phường Ba Đình", "commune", []),
            ("00082", "Phường Cửa Nam", "commune", []),
            ("00376", "Xã Sóc Sơn", "commune", []),
        ],
    ),
]

DEMO_REGIONS = {"ID": INDONESIA, "VN": VIET_NAM}

# Which demo user works where (codes above).
DEMO_USER_REGIONS = {
    "officer.id1": ["35.16"],
    "officer.id2": ["35.76"],
    "officer.vn1": ["00070", "00004"],
    "supervisor.id": ["35"],
}
