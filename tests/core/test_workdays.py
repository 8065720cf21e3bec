from datetime import date

from srs.core.workdays import PublicHoliday, add_working_days, due_date
from srs.extensions import db


def test_weekends_are_skipped():
    friday = date(2026, 11, 27)
    assert add_working_days(friday, 1) == date(2026, 11, 30)  # Monday
    assert add_working_days(friday, 5) == date(2026, 12, 4)


def test_holidays_are_skipped(app_ctx):
    db.session.add(PublicHoliday(country="ID", day=date(2026, 12, 25), name="Natal"))
    db.session.flush()
    # From Wednesday 23 Dec: Thu 24 (1), Fri 25 holiday, Mon 28 (2).
    assert due_date("ID", date(2026, 12, 23), 2) == date(2026, 12, 28)
    assert due_date("VN", date(2026, 12, 23), 2) == date(2026, 12, 25)
