"""Regions: the tree, lookups and the CSV import."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from srs.core import audit
from srs.core.lengths import column_length
from srs.extensions import db
from srs.regions.models import Region

CSV_COLUMNS = ("code", "name", "level", "parent_code", "country")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
# The countries SRS serves (ISO 3166-1 alpha-2), as the API accepts them in ?country=.
COUNTRIES = ("ID", "VN")


def get_by_code(code: str) -> Region | None:
    return db.session.scalar(select(Region).where(Region.code == code))


def children_of(parent_code: str | None, country: str | None = None) -> list[Region]:
    """The regions directly below ``parent_code``; without it, the top level."""
    stmt = select(Region).order_by(Region.code)
    if parent_code:
        parent = get_by_code(parent_code)
        if parent is None:
            return []
        stmt = stmt.where(Region.parent_id == parent.id)
    else:
        stmt = stmt.where(Region.parent_id.is_(None))
    if country:
        stmt = stmt.where(Region.country == country.upper())
    return list(db.session.scalars(stmt))


def add_region(code: str, name: str, level: str, country: str, parent: Region | None = None) -> Region:
    """Add one region below ``parent`` (or at the top), computing its path."""
    path = f"{parent.path if parent else country + '/'}{code}/"
    region = Region(
        code=code,
        name=name,
        level=level,
        country=country,
        parent=parent,
        path=path,
        depth=(parent.depth + 1) if parent else 0,
    )
    db.session.add(region)
    return region


def ancestors(region: Region) -> list[Region]:
    """From the top level down to ``region`` itself.

    The regions above it are read in one query by the prefixes of its path (``ID/35/35.16/...``)
    when its parent is not loaded yet; the walk up the parents below then finds them loaded."""
    above: list[Region] = []  # held while walking: the session keeps only referenced rows
    if region.path and region.parent_id is not None and "parent" in inspect(region).unloaded:
        parts = region.path.strip("/").split("/")
        prefixes = ["/".join(parts[:n]) + "/" for n in range(2, len(parts))]
        if prefixes:
            above = list(db.session.scalars(select(Region).where(Region.path.in_(prefixes))))
    chain = []
    node: Region | None = region
    while node is not None:
        chain.append(node)
        node = node.parent
    del above
    return list(reversed(chain))


def district_path(region: Region) -> str:
    """The ``path`` of ``district_of(region)``, read from the region's own path (no query)."""
    parts = region.path.strip("/").split("/")  # the country, then the codes from the top down
    return "/".join(parts[:3]) + "/" if len(parts) > 3 else region.path


def district_of(region: Region) -> Region:
    """The region at the district-like level (regency/city in Indonesia, commune in Viet Nam).

    Indonesia's districts for duplicate checks and reports are regencies/cities (depth 1); Viet Nam
    has two levels since 2025, so the commune (depth 1) plays that part.
    """
    chain = ancestors(region)
    return chain[1] if len(chain) > 1 else chain[0]


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_csv(text: str) -> ImportResult:
    """Import regions from CSV (code,name,level,parent_code,country): all rows or none.

    Parents may be existing regions or rows of the same file, in any order. Every bad row is reported
    with its line number and reason, and then nothing is imported.
    """
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        result.errors.append((1, _("Missing columns: %(cols)s", cols=", ".join(missing))))
        return result
    rows: dict[str, tuple[int, dict[str, str]]] = {}
    existing = {r.code: r for r in db.session.scalars(select(Region))}
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        code, name, level, country = row["code"], row["name"], row["level"], row["country"].upper()
        problems = []
        if not CODE_PATTERN.match(code):
            problems.append(_("the code must be 1-32 letters, digits, dots or dashes"))
        elif code in existing or code in rows:
            problems.append(_("the code %(code)s is already used", code=code))
        if not name:
            problems.append(_("the name is empty"))
        elif len(name) > column_length(Region.name):
            problems.append(_("the name has more than %(n)d characters", n=column_length(Region.name)))
        if not level:
            problems.append(_("the level is empty"))
        elif len(level) > column_length(Region.level):
            problems.append(_("the level has more than %(n)d characters", n=column_length(Region.level)))
        if not COUNTRY_PATTERN.match(country):
            problems.append(_("the country must be a two-letter code such as ID or VN"))
        if problems:
            result.errors.append((line, "; ".join(problems)))
            continue
        rows[code] = (line, {**row, "country": country})
    # Parents: known already, or in this file; and in the same country.
    for line, row in rows.values():
        parent_code = row["parent_code"]
        if not parent_code:
            continue
        parent_country = (
            existing[parent_code].country
            if parent_code in existing
            else rows[parent_code][1]["country"]
            if parent_code in rows
            else None
        )
        if parent_country is None:
            result.errors.append((line, _("the parent %(code)s is unknown", code=parent_code)))
        elif parent_country != row["country"]:
            result.errors.append((line, _("the parent %(code)s is in another country", code=parent_code)))
    if result.errors or not rows:
        if not rows and not result.errors:
            result.errors.append((1, _("The file has no rows.")))
        result.errors.sort()
        return result
    created: dict[str, Region] = dict(existing)
    pending = dict(rows)
    while pending:
        progressed = False
        for code, (_line, row) in list(pending.items()):
            parent_code = row["parent_code"]
            if parent_code and parent_code not in created:
                continue
            parent = created.get(parent_code) if parent_code else None
            created[code] = add_region(code, row["name"], row["level"], row["country"], parent)
            del pending[code]
            result.created += 1
            progressed = True
        if not progressed:  # a cycle: a row is its own ancestor
            for code, (line, _row) in sorted(pending.items(), key=lambda item: item[1][0]):
                result.errors.append((line, _("the parent chain of %(code)s loops", code=code)))
            db.session.rollback()
            result.created = 0
            return result
    db.session.flush()
    audit.record("regions.import", "region", None, created=result.created)
    return result


def region_to_dict(region: Region) -> dict[str, object]:
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent_code": region.parent.code if region.parent else None,
        "country": region.country,
    }
