"""Moves a test subprocess's clock by the same offset as the test session's (see tests/conftest.py).

tests/conftest.py puts this folder on PYTHONPATH when SRS_TEST_CLOCK_OFFSET is set, so a worker or server
that a test starts as a subprocess reads the same moved time as the tests themselves.
"""

from __future__ import annotations

import os

_offset = os.environ.get("SRS_TEST_CLOCK_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
