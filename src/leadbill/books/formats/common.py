"""What the export files share: amounts as Decimal, dates per the entity's convention, identifiers checked.

Free text (names, descriptions) goes through `domain.csvsafe.cell`, which prefixes a formula-like
start with an apostrophe: harmless in an imported description. Identifiers the importing system
matches on (document numbers, account codes, tax codes) must not be altered, so they are checked
instead: one that starts like a formula (=, +, -, @, tab, CR) or holds a control character refuses
the export and names the document and the field, and no formula reaches the file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from leadbill.domain.csvsafe import FORMULA_STARTS, cell, writer
from leadbill.domain.errors import DomainError
from leadbill.domain.money import minor_to_decimal
from leadbill.domain.text import unsafe_character


class ExportRefused(DomainError):
    code = "export_refused"


@dataclass(frozen=True, slots=True)
class File:
    name: str
    content: bytes
    media_type: str = "text/csv"


def amount(minor: int, currency: str) -> Decimal:
    return minor_to_decimal(minor, currency)


def percent(rate_bp: int) -> Decimal:
    """A tax rate in basis points as a percentage with two decimals (1900 -> 19.00)."""
    return Decimal(rate_bp).scaleb(-2)


def identifier(value: str, *, what: str, document: str) -> str:
    """A value an importer matches on, passed as it is once checked; refuses what a spreadsheet would run."""
    if value.startswith(FORMULA_STARTS) or unsafe_character(value) is not None:
        raise ExportRefused(f"{document}: the {what} {value[:40]!r} starts like a formula or holds a control "
                            "character; the file would not import as it is. Change it and export again",
                            field=what)  # fmt: skip
    return value


def text(value: str, max_length: int | None = None) -> str:
    """Free text, spreadsheet-safe (see csvsafe), cut to what the importer takes."""
    value = " ".join(value.split())
    if max_length is not None:
        value = value[:max_length]
    result: str = cell(value)
    return result


def date_text(day: date | None, country: str) -> str:
    """MM/DD/YYYY for a US entity, DD/MM/YYYY elsewhere (QuickBooks and Xero read the company's format)."""
    if day is None:
        return ""
    return day.strftime("%m/%d/%Y") if country == "US" else day.strftime("%d/%m/%Y")


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    """UTF-8 CSV, header first, every cell through csvsafe's writer (numbers stay numbers)."""
    buffer = io.StringIO(newline="")
    w = writer(buffer, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buffer.getvalue().encode("utf-8")
