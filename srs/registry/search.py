"""Finding clients: by ID number, by phone, by name (typo-tolerant)."""

from __future__ import annotations

import difflib
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select

from srs.accounts.models import User
from srs.core.errors import NotFound
from srs.core.pagination import Page, paginate
from srs.extensions import db
from srs.regions.models import Region
from srs.regions.scope import region_id_condition, region_in_scope
from srs.regions.services import get_by_code
from srs.registry.idnumbers import normalise_number
from srs.registry.models import Client, ClientName
from srs.registry.normalise import fold_name, phone_candidates
from srs.registry.services import scoped_clients

SEARCH_CANDIDATES = 2000  # SQLite fallback: rows ranked in Python at most
PG_MIN_SIMILARITY = 0.45
NAME_SEARCH_CAP = 1000  # name matches ranked at most; more is never useful to a person


def _digits_query(q: str) -> str | None:
    compact = normalise_number(q).lstrip("+")
    return compact if compact.isdigit() and len(compact) >= 6 else None


def search_clients(
    q: str | None, user: User, *, region_code: str | None = None, page: int = 1, per_page: int = 50
) -> Page[Client]:
    """Clients in the user's scope matching an ID number, a phone, or a name (typo-tolerant).

    PostgreSQL ranks names by trigram similarity (GIN index); SQLite narrows candidates with LIKE on
    parts of the folded words and ranks a bounded set with difflib.
    """
    stmt = scoped_clients(user)
    region = None
    if region_code:
        region = get_by_code(region_code)
        if region is None or not region_in_scope(region, user):
            raise NotFound(_("No region in your area has the code %(code)s.", code=region_code))
        stmt = stmt.where(_below(region, Client.region_id))
    q = (q or "").strip()
    if not q:
        return paginate(stmt.order_by(Client.created_at.desc(), Client.id.desc()), page, per_page)
    digits = _digits_query(q)
    if digits is not None:
        phones = phone_candidates(q) or phone_candidates("+" + digits)
        condition = and_(Client.id_type.in_(("nik", "vn_pid")), Client.id_number == digits)
        if phones:
            condition = or_(condition, Client.phone.in_(phones))
        return paginate(stmt.where(condition).order_by(Client.id), page, per_page)
    folded = fold_name(q)
    if not folded:
        return Page(items=[], page=page, per_page=per_page, total=0)
    if db.engine.dialect.name == "postgresql":
        names = select(ClientName.client_id).where(region_id_condition(ClientName.region_id, user))
        if region is not None:
            names = names.where(_below(region, ClientName.region_id))
        return _search_names_pg(names, folded, page, per_page)
    return _search_names_fallback(stmt, folded, page, per_page)


def _below(region: Region, region_id_column: Any) -> Any:
    return region_id_column.in_(select(Region.id).where(Region.path.startswith(region.path, autoescape=True)))


def _search_names_pg(names: Select[int], folded: str, page: int, per_page: int) -> Page[Client]:
    """Rank the scoped rows of client_names (merged records are not there) by trigram similarity."""
    # A single typo in a full name keeps its trigram similarity above 0.6; 0.45 (instead of the
    # default 0.3) keeps common short names from matching tens of thousands of rows, which is what
    # makes a search on a million clients slow.
    db.session.execute(select(func.set_config("pg_trgm.similarity_threshold", str(PG_MIN_SIMILARITY), True)))
    ids: list[int] = []
    name_key = ClientName.name_key
    if " " in folded:
        ids = _ranked_ids(names, name_key.op("%")(folded), func.similarity(name_key, folded))
    if not ids:
        # One word ("huong"), or a part of a name that matches no whole name: word similarity finds
        # it inside longer names. Only then, because a second trigram index scan over a million
        # names doubles the time of every search.
        ids = _ranked_ids(names, name_key.op("%>")(folded), func.word_similarity(folded, name_key))
    start = (page - 1) * per_page
    page_ids = ids[start : start + per_page]
    loaded = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(page_ids)))}
    return Page(
        items=[loaded[i] for i in page_ids if i in loaded], page=page, per_page=per_page, total=len(ids)
    )


def _ranked_ids(names: Select[int], condition: Any, score: Any) -> list[int]:
    # One ranked query for ids (capped) instead of a count plus a page: the count over a large
    # match set costs as much as the search itself.
    return list(
        db.session.scalars(
            names.where(condition).order_by(score.desc(), ClientName.client_id).limit(NAME_SEARCH_CAP)
        )
    )


def _token_score(query_tokens: list[str], name_tokens: list[str]) -> float:
    if not name_tokens:
        return 0.0
    total = 0.0
    for token in query_tokens:
        total += max(difflib.SequenceMatcher(None, token, other).ratio() for other in name_tokens)
    return total / len(query_tokens)


def _search_names_fallback(stmt: Select[Client], folded: str, page: int, per_page: int) -> Page[Client]:
    tokens = folded.split()
    patterns = set()
    for token in tokens:
        patterns.add(token)
        if len(token) >= 4:
            # A typo leaves the start or the end of a word intact.
            patterns.add(token[:3])
            patterns.add(token[-3:])
    condition = or_(*[Client.name_key.like(f"%{p}%") for p in sorted(patterns)])
    candidates = list(db.session.scalars(stmt.where(condition).order_by(Client.id).limit(SEARCH_CANDIDATES)))
    scored = []
    for client in candidates:
        score = _token_score(tokens, client.name_key.split())
        if score >= 0.75:
            scored.append((score, client))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    start = (page - 1) * per_page
    return Page(
        items=[c for _s, c in scored[start : start + per_page]],
        page=page,
        per_page=per_page,
        total=len(scored),
    )
