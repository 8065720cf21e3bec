"""Time to draw the monthly summary PDF (srs/reports/pdf.py), without the database.

    .venv/bin/python bench/pdf_bench.py

The figures are the drawing alone (fonts loaded and subset, table laid out, bytes written), for an
empty table, a province's districts (40 rows), about every province of both countries (100 rows) and
about every regency of Indonesia (600 rows), Vietnamese names included.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srs.reports.pdf import MonthlyDocument, render  # noqa: E402

RUNS = 10


def document(rows: int) -> MonthlyDocument:
    return MonthlyDocument(
        title="Tổng hợp hằng tháng theo xã/phường: tháng 5 năm 2026",
        scope="Thành phố Hà Nội (01)",
        generated="Tạo lúc 29 thg 5, 2026 bởi Nguyễn Thị Lan",
        headers=["Xã/phường", "Đăng ký", "Chuyển gửi", "Thành công", "Quá hạn"],
        rows=[[f"Xã Sóc Sơn {i} ({10000 + i})", f"{i * 7:,}", str(i), "0", "1"] for i in range(rows)],
        total=["Tổng cộng", "0", "0", "0", "0"],
    )


def main() -> None:
    for rows in (0, 40, 100, 600):
        doc = document(rows)
        render(doc)  # warm up imports
        times = []
        size = 0
        for _ in range(RUNS):
            start = time.perf_counter()
            size = len(render(doc))
            times.append(time.perf_counter() - start)
        print(
            f"{rows:4d} rows: median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms, {size / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
