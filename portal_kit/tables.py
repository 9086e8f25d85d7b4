"""Tables as spreadsheets: CSV text any face can offer for download."""

import csv
import io
from collections.abc import Sequence

Cell = str | int | float | None

# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula.
# Text cells (organisation names, reasons: what outsiders typed) are prefixed with a quote;
# numbers are written as numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """headers and rows as CSV (RFC 4180 line ends), no cell read as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(header) for header in headers])
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return buffer.getvalue()
