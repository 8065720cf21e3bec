"""Real regions for the demo seed, with their official codes.

Indonesia: Kemendagri codes (province.regency.district.village), from the Kepmendagri list of
administrative codes. Viet Nam: General Statistics Office codes after the 2025 reorganisation into
provinces and communes (Resolution 1656/NQ-UBTVQH15 for Ha Noi); commune codes are those of the
list in force on 1 July 2025. Check against the current official lists before production use.
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
                            ("35.16.08.2001", "Awang-Awang", "village", []),
                            ("35.16.08.1002", "Kauman", "village", []),
                        ],
                    ),
                    (
                        "35.16.12",
                        "Trowulan",
                        "district",
                        [
                            ("35.16.12.2001", "Trowulan", "village", []),
                            ("35.16.12.2002", "Bejijong", "village", []),
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
                        "Prajurit Kulon",
                        "district",
                        [
                            ("35.76.01.1001", "Surodinawan", "village", []),
                            ("35.76.01.1002", "Prajurit Kulon", "village", []),
                        ],
                    ),
                    (
                        "35.76.02",
                        "Magersari",
                        "district",
                        [
                            ("35.76.02.1001", "Gunung Gedangan", "village", []),
                            ("35.76.02.1002", "Magersari", "village", []),
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
                        "34.71.04",
                        "Umbulharjo",
                        "district",
                        [
                            ("34.71.04.1001", "Giwangan", "village", []),
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
            ("10183", "Xã Sóc Sơn", "commune", []),
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
