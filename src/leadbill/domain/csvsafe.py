"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV Injection").

Every CSV export goes through here. A text cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show
it as text instead of evaluating it (`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`, `@SUM(...)`).
Numbers the exporter formats itself (int, Decimal; never float) pass through untouched, so a credit
of -5.00 stays a number that sums: exporters hand amounts over as Decimal, never as text.
Only `str` (and other non-numeric) values are neutralised, whoever typed them.

`sql_cell` is the same rule as SQL, for PostgreSQL's `COPY ... TO STDOUT`, which writes the
cells itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

# OWASP: =, +, -, @, tab (0x09), carriage return (0x0D).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBERS = (int, Decimal)


def cell(value: Any) -> Any:
    """The value as the CSV should carry it: numbers and None untouched, formula-like text prefixed with '."""
    if value is None or isinstance(value, NUMBERS):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class SafeWriter:
    """A csv.writer whose every row goes through `cell`."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        self._writer: _Writer = csv.writer(stream, **kwargs)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(stream: Any, **kwargs: Any) -> SafeWriter:
    """Use instead of csv.writer for anything people download (same arguments)."""
    return SafeWriter(stream, **kwargs)


def sql_cell(expr: str) -> str:
    """PostgreSQL SQL for a text expression with `cell`'s rule applied; NULL stays NULL."""
    starts = ", ".join(f"chr({ord(c)})" if c in "\t\r" else f"'{c}'" for c in FORMULA_STARTS)
    return f"CASE WHEN substr({expr}, 1, 1) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"
