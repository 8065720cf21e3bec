"""Pagination shared by HTML lists and the API (``?page=1&per_page=50``, at most 200 a page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from srs.core.errors import ValidationFailed
from srs.extensions import db

T = TypeVar("T")

# Far beyond any real list, and small enough that page × per_page fits the databases' 64-bit OFFSET.
MAX_PAGE = 1_000_000


@dataclass
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def as_dict(self, serialise: Any) -> dict[str, Any]:
        return {
            "items": [serialise(item) for item in self.items],
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
        }


def page_args(strict: bool = True, source: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """Read ``page`` and ``per_page`` from the query string (or ``source``: a posted form, a JSON body).

    With ``strict`` (the API) a bad value is a 422; otherwise (HTML lists) it falls back to defaults.
    """
    default = current_app.config["PER_PAGE_DEFAULT"]
    maximum = current_app.config["PER_PAGE_MAX"]
    source = request.args if source is None else source
    errors: dict[str, list[str]] = {}
    values = {}
    for name, fallback in (("page", 1), ("per_page", default)):
        raw = source.get(name)
        if raw is None or raw == "":
            values[name] = fallback
            continue
        try:
            # A JSON body may carry a number; anything but a whole number (true, 1.5, a list) is refused.
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError
            number = int(raw)
            if not 1 <= number <= MAX_PAGE:
                raise ValueError
        except ValueError:
            errors[name] = [_("Must be a whole number from 1 to %(max)d.", max=MAX_PAGE)]
            values[name] = fallback
            continue
        values[name] = number
    if values["per_page"] > maximum:
        if strict:
            errors["per_page"] = [_("At most %(max)d per page.", max=maximum)]
        values["per_page"] = maximum
    if errors and strict:
        raise ValidationFailed(_("The page parameters are not valid."), errors)
    return values["page"], values["per_page"]


# A select of any columns (SQLAlchemy 2.1 types a select by the tuple of its columns).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


def paginate(stmt: AnySelect, page: int, per_page: int, scalars: bool = True) -> Page[Any]:
    """Run ``stmt`` for one page and count the whole result."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    paged = stmt.limit(per_page).offset((page - 1) * per_page)
    items = list(db.session.scalars(paged)) if scalars else list(db.session.execute(paged))
    return Page(items=items, page=page, per_page=per_page, total=total)
