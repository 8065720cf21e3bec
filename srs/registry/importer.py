"""Bulk import of clients from CSV or XLSX: the same validation as the form, in fast batches.

Each row is checked by srs.registry.validation; bad rows are skipped and reported with their row
number and reason. Duplicate checks and inserts run a chunk of rows at a time (a few queries per
chunk, not per row), so a village survey of 100,000 rows imports in well under a minute on
PostgreSQL. A row whose person is already registered (same ID number, or without an ID the same
name, birth date and region) is counted, not inserted: importing the same file twice adds nobody.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVarTuple

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    Date,
    Integer,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from srs.accounts.models import User
from srs.core import clock
from srs.core.errors import ValidationFailed
from srs.core.models import AuditEntry
from srs.extensions import db
from srs.regions.models import Region
from srs.regions.scope import region_in_scope
from srs.regions.services import district_of
from srs.registry import consent
from srs.registry.fields import client_fields, import_columns, required_import_columns
from srs.registry.models import Client, DuplicateCandidate, ImportBatch
from srs.registry.validation import validate_client

# The file's columns come from the table (srs/registry/fields.py): consent is spread over three
# columns; pregnancy is recorded at the office, never taken from a survey file.
COLUMNS = import_columns()
REQUIRED_COLUMNS = required_import_columns()
CHUNK = 1000
MAX_ROWS = 200_000

SAMPLE_ROWS = [
    {
        "id_type": "nik",
        "id_number": "3516084506880001",
        "full_name": "Siti Aminah",
        "sex": "female",
        "date_of_birth": "1988-06-05",
        "phone": "0812 3456 7890",
        "region_code": "35.16.08.2003",
        "address": "Dusun Krajan RT 02 RW 01",
        "occupation": "Pedagang sayur",
        "work_status": "self_employed",
        "monthly_income": "1500000",
        "household_size": "4",
        "disability": "no",
        "in_education": "no",
        "poverty_status": "near_poor",
        "welfare_decile": "3",
        "welfare_source": "DTSEN",
        "welfare_date": "2025-09-30",
        "enrolments": "ID-PBI-JKN",
        "consent_given": "yes",
        "consent_date": "2026-01-15",
        "consent_scope": "Screening and referral to social protection programmes",
    },
    {
        "id_type": "none",
        "id_number": "",
        "full_name": "Slamet Riyadi",
        "sex": "male",
        "date_of_birth": "1979-11-02",
        "phone": "",
        "region_code": "35.16.08.2003",
        "address": "",
        "occupation": "Buruh tani",
        "work_status": "informal",
        "monthly_income": "900000",
        "household_size": "",
        "disability": "",
        "in_education": "",
        "poverty_status": "unknown",
        "welfare_decile": "",
        "welfare_source": "",
        "welfare_date": "",
        "enrolments": "",
        "consent_given": "yes",
        "consent_date": "2026-01-15",
        "consent_scope": "Screening and referral to social protection programmes",
    },
]


def _one_of(column: Any, values: set[Any], type_: Any) -> Any:
    """``column IN values``; on PostgreSQL one array parameter (= ANY) instead of a thousand."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(type_)))
    return column.in_(list(values))


_Row = TypeVarTuple("_Row")


def _with_name_and_birth(stmt: Select[*_Row], pairs: set[tuple[str, date]]) -> Select[*_Row]:
    """``stmt`` narrowed to clients whose (name_key, date_of_birth) is one of ``pairs``.

    On PostgreSQL the pairs are joined as two zipped arrays: ``name = ANY(..) AND birth = ANY(..)``
    probes the index with every name x every date (a million probes for a chunk of 1,000).
    """
    if db.engine.dialect.name == "postgresql":
        names, births = zip(*pairs, strict=True) if pairs else ((), ())
        wanted = select(
            func.unnest(bindparam(None, list(names), type_=ARRAY(String))).label("name_key"),
            func.unnest(bindparam(None, list(births), type_=ARRAY(Date))).label("birth"),
        ).subquery()
        return stmt.join(
            wanted, and_(Client.name_key == wanted.c.name_key, Client.date_of_birth == wanted.c.birth)
        )
    # SQLite: both columns of ix_clients_name_dob narrow the rows; callers match exact pairs.
    return stmt.where(
        _one_of(Client.name_key, {n for n, _b in pairs}, String),
        _one_of(Client.date_of_birth, {b for _n, b in pairs}, Date),
    )


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong format, missing columns)."""


def sample_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=import_columns(), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(SAMPLE_ROWS)
    return out.getvalue()


def sample_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook starts with one worksheet, active
    sheet.title = "clients"
    columns = import_columns()
    sheet.append(list(columns))
    for row in SAMPLE_ROWS:
        sheet.append([row.get(c, "") for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(filename: str, content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, {column: text}) for each non-empty row."""
    if filename.lower().endswith(".xlsx"):
        yield from _xlsx_rows(content)
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.")) from exc
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    columns = _check_header(header)
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        yield number, {c: (values[i].strip() if i < len(values) else "") for i, c in columns}


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError(_("The file is not an Excel workbook (.xlsx).")) from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    columns = _check_header([_cell(h) for h in header] if header else None)
    for number, values in enumerate(rows, start=2):
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        yield number, {c: (cells[i] if i < len(cells) else "") for i, c in columns}
    workbook.close()


def _check_header(header: list[str] | None) -> list[tuple[int, str]]:
    if not header:
        raise ImportFileError(_("The file is empty."))
    names = [h.strip().lower() for h in header]
    missing = [c for c in required_import_columns() if c not in names]
    if missing:
        raise ImportFileError(_("Missing columns: %(cols)s", cols=", ".join(missing)))
    known = set(import_columns())
    return [(i, name) for i, name in enumerate(names) if name in known]


def count_rows(filename: str, content: bytes) -> int:
    return sum(1 for _row in read_rows(filename, content))


def row_to_input(row: dict[str, str]) -> dict[str, Any]:
    """A file row in the API's input shape: each field from its columns (consent's three become an object)."""
    data: dict[str, Any] = {}
    for f in client_fields():
        if f.type == "consent":
            data[f.name] = {
                part: row.get(column, "") for part, column in zip(CONSENT_PARTS, f.columns, strict=True)
            }
        elif f.columns:
            present = [row[column] for column in f.columns if column in row]
            if present:
                data[f.name] = present[0]
    return data


# The consent object's parts, in the order of the consent field's columns.
CONSENT_PARTS = ("given", "date", "scope")


def _first_message(exc: ValidationFailed) -> str:
    parts = []
    for name, messages in exc.errors.items():
        parts.append(f"{name}: {' '.join(str(m) for m in messages)}")
    return "; ".join(parts) or exc.detail


class _Regions:
    """Region lookups and district paths cached for the whole file."""

    def __init__(self) -> None:
        self.by_code: dict[str, Region | None] = {}
        self.district_path: dict[int, str] = {}
        self.path_by_id: dict[int, str] = {}
        self.allowed: dict[int, bool] = {}

    def in_scope_for(self, user: User) -> Callable[[Region], bool]:
        def check(region: Region) -> bool:
            if region.id not in self.allowed:
                self.allowed[region.id] = region_in_scope(region, user)
            return self.allowed[region.id]

        return check

    def lookup(self, code: str) -> Region | None:
        if code not in self.by_code:
            region = db.session.scalar(select(Region).where(Region.code == code))
            self.by_code[code] = region
            if region is not None:
                self.district_path[region.id] = district_of(region).path
                self.path_by_id[region.id] = region.path
        return self.by_code[code]

    def path(self, region_id: int) -> str:
        if region_id not in self.path_by_id:
            self.path_by_id[region_id] = (
                db.session.scalar(select(Region.path).where(Region.id == region_id)) or ""
            )
        return self.path_by_id[region_id]


def run_import(
    batch: ImportBatch, user: User, on_progress: Callable[[ImportBatch], None] | None = None
) -> ImportBatch:
    """Import every row of ``batch`` as ``user`` (their scope applies); update counts as it goes.

    ``on_progress`` is called after each chunk (the job commits there so the page can show it).
    """
    regions = _Regions()
    in_scope = regions.in_scope_for(user)
    batch.errors = []
    batch.imported = batch.already_registered = batch.processed_rows = 0
    errors: list[list[Any]] = []
    seen_ids: dict[tuple[str, str], int] = {}
    chunk: list[tuple[int, dict[str, Any]]] = []
    if batch.content is None:  # the job checks first; the file is gone after its retention period
        raise ValueError(f"import batch {batch.id} has no file left")
    for number, row in read_rows(batch.filename, batch.content):
        if number - 1 > MAX_ROWS:
            errors.append(
                [number, _("The file has more than %(n)d rows; the rest was not read.", n=MAX_ROWS)]
            )
            break
        try:
            cleaned = validate_client(
                row_to_input(row), user=user, lookup_region=regions.lookup, in_scope=in_scope
            )
        except ValidationFailed as exc:
            errors.append([number, _first_message(exc)])
        else:
            key = (cleaned["id_type"], cleaned["id_number"])
            if cleaned["id_number"] and key in seen_ids:
                errors.append([number, _("The same ID number as row %(row)d.", row=seen_ids[key])])
            else:
                if cleaned["id_number"]:
                    seen_ids[key] = number
                chunk.append((number, cleaned))
        batch.processed_rows += 1
        if len(chunk) >= CHUNK:
            _import_chunk(batch, chunk, user, regions, errors)
            chunk = []
            batch.errors = list(errors)
            if on_progress:
                on_progress(batch)
    if chunk:
        _import_chunk(batch, chunk, user, regions, errors)
    errors.sort(key=lambda e: e[0])
    batch.errors = errors
    return batch


def _import_chunk(
    batch: ImportBatch,
    chunk: list[tuple[int, dict[str, Any]]],
    user: User,
    regions: _Regions,
    errors: list[list[Any]],
) -> None:
    with_id = [(n, c) for n, c in chunk if c["id_number"]]
    without_id = [(n, c) for n, c in chunk if not c["id_number"]]
    taken: dict[tuple[str, str | None], tuple[str, Any]] = {}
    if with_id:
        for id_type, id_number, name_key, birth in db.session.execute(
            select(Client.id_type, Client.id_number, Client.name_key, Client.date_of_birth).where(
                Client.id_type.in_(("nik", "vn_pid")),
                _one_of(Client.id_number, {c["id_number"] for _n, c in with_id}, String),
            )
        ):
            taken[(id_type, id_number)] = (name_key, birth)
    known_without_id: set[tuple[str, Any, int]] = set()
    if without_id:
        for name_key, birth, region_id in db.session.execute(
            _with_name_and_birth(
                select(Client.name_key, Client.date_of_birth, Client.region_id),
                {(c["name_key"], c["date_of_birth"]) for _n, c in without_id},
            ).where(Client.id_type == "none", Client.merged_into_id.is_(None))
        ):
            known_without_id.add((name_key, birth, region_id))

    new_rows: list[dict[str, Any]] = []
    consents: list[consent.ConsentInput] = []
    for number, cleaned in chunk:
        if cleaned["id_number"]:
            existing = taken.get((cleaned["id_type"], cleaned["id_number"]))
            if existing is not None:
                if existing == (cleaned["name_key"], cleaned["date_of_birth"]):
                    batch.already_registered += 1
                else:
                    errors.append([number, _("This ID number is already registered to another client.")])
                continue
        elif (cleaned["name_key"], cleaned["date_of_birth"], cleaned["region_id"]) in known_without_id:
            batch.already_registered += 1
            continue
        else:
            known_without_id.add((cleaned["name_key"], cleaned["date_of_birth"], cleaned["region_id"]))
        values = {k: v for k, v in cleaned.items() if k not in ("region", *consent.INPUT_KEYS)}
        table_extra = values.pop("extra", {})
        # The row's consent columns say what its consent record (written below) says.
        row_consent = consent.take_input(dict(cleaned))
        values.update(
            consent_given=row_consent.given,
            consent_date=row_consent.given_on,
            consent_scope=row_consent.scope,
        )
        consents.append(row_consent)
        now = clock.now()
        values.update(
            created_by_id=user.id,
            consent_recorded_by_id=user.id if values["consent_given"] else None,
            created_at=now,
            updated_at=now,
            version=1,
            needs_review=False,
            extra={**table_extra, "import_id": batch.id, "row": number},
        )
        new_rows.append(values)
    if not new_rows:
        return
    if db.engine.dialect.name == "postgresql":
        ids = _copy_clients(new_rows)
    else:
        ids = list(
            db.session.scalars(insert(Client).returning(Client.id, sort_by_parameter_order=True), new_rows)
        )
        for values, new_id in zip(new_rows, ids, strict=True):
            values["id"] = new_id
    batch.imported += len(ids)
    consent_records = consent.import_rows(dict(zip(ids, consents, strict=True)), user, clock.now())
    # One audit entry per chunk names every client it registered (the client rows carry the batch
    # and row number in ``extra``): 100,000 single entries would cost more than the clients.
    db.session.add(
        AuditEntry(
            user_id=user.id,
            username=user.username,
            action="clients.import",
            object_type="client_import",
            object_id=str(batch.id),
            details={
                "client_ids": ids,
                "rows": [v["extra"]["row"] for v in new_rows],
                "consent_records": consent_records,
            },
        )
    )
    _flag_chunk_duplicates(new_rows, regions)


def _copy_clients(rows: list[dict[str, Any]]) -> list[int]:
    """Insert a chunk with COPY, in the session's transaction; ids are drawn from the sequence first.

    A multi-row INSERT of 1,000 rows x 35 columns spends more time building and parsing its SQL
    than PostgreSQL spends storing the rows; COPY sends the values as one stream.
    """
    ids = list(
        db.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('clients', 'id')) FROM generate_series(1, :n)"),
            {"n": len(rows)},
        )
    )
    for values, new_id in zip(rows, ids, strict=True):
        values["id"] = new_id
    table = Client.__table__
    assert isinstance(table, Table)  # a mapped class's table, not a join or a select
    columns = [c for c in table.columns if c.name in rows[0]]
    json_columns = {c.name for c in columns if isinstance(c.type, JSON)}
    names = ", ".join(c.name for c in columns)
    raw = db.session.connection().connection.driver_connection  # psycopg's own connection, for COPY
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(
                [
                    json.dumps(values.get(c.name)) if c.name in json_columns else values.get(c.name)
                    for c in columns
                ]
            )
    return ids


def _flag_chunk_duplicates(new_rows: list[dict[str, Any]], regions: _Regions) -> None:
    """Probable duplicates of the new rows, found with two queries for the whole chunk."""
    phones = {v["phone"] for v in new_rows if v["phone"]}
    by_name: dict[tuple[str, Any], list[tuple[int, int]]] = {}
    for cid, name_key, birth, region_id in db.session.execute(
        _with_name_and_birth(
            select(Client.id, Client.name_key, Client.date_of_birth, Client.region_id),
            {(v["name_key"], v["date_of_birth"]) for v in new_rows},
        ).where(Client.merged_into_id.is_(None))
    ):
        by_name.setdefault((name_key, birth), []).append((cid, region_id))
    by_phone: dict[str, list[int]] = {}
    if phones:
        for cid, phone in db.session.execute(
            select(Client.id, Client.phone).where(
                _one_of(Client.phone, phones, String), Client.merged_into_id.is_(None)
            )
        ):
            if phone is not None:  # the query matched phones in a set of strings
                by_phone.setdefault(phone, []).append(cid)
    pairs: dict[tuple[int, int], str] = {}
    for v in new_rows:
        district = regions.district_path.get(v["region_id"]) or regions.path(v["region_id"])
        for other_id, other_region in by_name.get((v["name_key"], v["date_of_birth"]), []):
            if other_id != v["id"] and regions.path(other_region).startswith(district):
                pair = (max(v["id"], other_id), min(v["id"], other_id))
                pairs.setdefault(pair, "name_birth_district")
        for other_id in by_phone.get(v["phone"], []) if v["phone"] else []:
            if other_id != v["id"]:
                pairs.setdefault((max(v["id"], other_id), min(v["id"], other_id)), "phone")
    if not pairs:
        return
    existing = {
        (a, b)
        for a, b in db.session.execute(
            select(DuplicateCandidate.client_id, DuplicateCandidate.other_client_id).where(
                _one_of(DuplicateCandidate.client_id, {p[0] for p in pairs}, Integer)
            )
        )
    }
    fresh = [(a, b, reason) for (a, b), reason in pairs.items() if (a, b) not in existing]
    if not fresh:
        return
    now = clock.now()
    db.session.execute(
        insert(DuplicateCandidate),
        [
            {"client_id": a, "other_client_id": b, "reason": r, "status": "open", "created_at": now}
            for a, b, r in fresh
        ],
    )
    db.session.execute(
        update(Client).where(Client.id.in_({a for a, _b, _r in fresh})).values(needs_review=True)
    )
