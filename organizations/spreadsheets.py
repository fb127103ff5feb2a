"""Exports people open in a spreadsheet: CSV and Excel responses, streamed, whose text cells
cannot run as formulas (CSV/formula injection), for every export of the platform to reuse."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from django.http import FileResponse, StreamingHttpResponse
from django.utils.functional import Promise
from openpyxl import Workbook

# A cell starting with one of these is read by Excel, WPS or LibreOffice as a formula (a tab or
# carriage return first can hide one that follows).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows of an Excel sheet, its header included; the rows beyond go on to a sheet of their own.
XLSX_MAX_ROWS = 1_048_576


def spreadsheet_cell(value: object) -> object:
    """A value as it may be written to a cell: text that a spreadsheet would run as a formula
    is quoted with a leading apostrophe, shown as the text it is; numbers, dates and None pass
    unchanged (a negative number is a number, not a formula). A lazy translation is text."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def spreadsheet_row(values: Sequence[object]) -> list[object]:
    return [spreadsheet_cell(value) for value in values]


class _Line:
    """A file-like the csv writer writes one line to, handed back at once."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The rows as CSV lines, a byte-order mark first so that Excel reads the Chinese as UTF-8."""
    writer = csv.writer(_Line())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(spreadsheet_row(row))


def csv_response(rows: Iterable[Sequence[object]], *, filename: str) -> StreamingHttpResponse:
    """Stream the rows (an iterator: they are produced as the response is sent) as a CSV file."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_write(rows: Iterable[Sequence[object]], handle: IO[str]) -> None:
    """Write the rows as CSV lines (see csv_lines) to a text file, one line at a time."""
    for line in csv_lines(rows):
        handle.write(line)


def xlsx_write(sheets: Iterable[tuple[str, Iterable[Sequence[object]]]], handle: IO[bytes]) -> None:
    """Write each (title, rows) sheet, its first row the header, with openpyxl in write-only
    mode (rows go to disk as they come, never the whole workbook in memory) to a binary file.
    A sheet longer than Excel allows goes on in "title (2)", ... with the header repeated."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        rows = iter(rows)
        header = spreadsheet_row(next(rows, []))
        sheet, part = workbook.create_sheet(title=title[:31]), 1
        sheet.append(header)
        written = 1
        for row in rows:
            if written == XLSX_MAX_ROWS:
                part += 1
                sheet = workbook.create_sheet(title=f"{title[:25]} ({part})")
                sheet.append(header)
                written = 1
            sheet.append(spreadsheet_row(row))
            written += 1
    workbook.save(handle)


def xlsx_response(
    sheets: Iterable[tuple[str, Iterable[Sequence[object]]]], *, filename: str
) -> FileResponse:
    """Write the sheets (see xlsx_write) to a temporary file, then stream the file."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it once sent
    xlsx_write(sheets, handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
