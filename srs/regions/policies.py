"""Who sees which regions: the policy beside the region tree (``scope.py`` turns it into SQL)."""

from __future__ import annotations

from typing import Any

from srs.core.access import has_role


def sees_everything(user: Any) -> bool:
    """Admins configure and see all records, in every region."""
    return has_role(user, "admin")
