"""CSV and XLSX files of any report or list; an empty selection gives just the header row."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app
from openpyxl import Workbook

from srs.core import audit

FORMATS = ("csv", "xlsx")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _local(value: datetime) -> datetime:
    tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"))
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _cell_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection): keep it text.
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _cell_xlsx(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, (date, int, float)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_response(filename: str, headers: list[Any], rows: Iterable[list[Any]]) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(buffer)
    writer.writerow([str(h) for h in headers])
    for row in rows:
        writer.writerow([_cell_csv(v) for v in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}.csv"},
    )


def sheet_title(title: str) -> str:
    """``title`` as Excel accepts a sheet name: none of ``\\ / ? * [ ] :``, at most 31 characters."""
    cleaned = re.sub(r"[\\/?*\[\]:]", " ", title)
    return " ".join(cleaned.split())[:31].strip() or "Sheet"


def xlsx_response(filename: str, title: str, headers: list[Any], rows: Iterable[list[Any]]) -> Response:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title(title))
    sheet.append([str(h) for h in headers])
    for row in rows:
        sheet.append([_cell_xlsx(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(
        buffer.getvalue(),
        mimetype=XLSX_MIME,
        headers={"Content-Disposition": f"attachment; filename={filename}.xlsx"},
    )


def file_response(
    fmt: str, filename: str, title: str, headers: list[Any], rows: Iterable[list[Any]]
) -> Response:
    if fmt == "csv":
        return csv_response(filename, headers, rows)
    return xlsx_response(filename, title, headers, rows)


def audited_file_response(
    fmt: str,
    filename: str,
    title: str,
    headers: list[Any],
    rows: Iterable[list[Any]],
    *,
    action: str,
    object_type: str,
    id_column: int,
    client_column: int | None = None,
    query: Mapping[str, Any] | None = None,
    **details: Any,
) -> Response:
    """The file, and an audit entry naming every record that left in it (not only the filters).

    The ids are taken from the rows as they are written, so the entry lists exactly what the file
    holds: ``id_column`` gives the record's id, ``client_column`` (if any) the client's.
    """
    ids: list[Any] = []
    client_ids: set[Any] = set()

    def written() -> Iterator[list[Any]]:
        for row in rows:
            ids.append(row[id_column])
            if client_column is not None and row[client_column] not in (None, ""):
                client_ids.add(row[client_column])
            yield row

    response = file_response(fmt, filename, title, headers, written())
    if client_column is not None:
        details["client_ids"] = sorted(client_ids)
    audit.record_list(action, object_type, ids, query=query, format=fmt, total=len(ids), **details)
    return response
