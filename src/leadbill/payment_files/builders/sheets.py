"""Spreadsheets of payouts with their lines: xlsx (openpyxl) and CSV.

Both carry the same two tables (docs/payment-files.md, "Spreadsheets"): the payouts, one row
each, and their lines, one row each with the payout's id, partner and period repeated. In
the CSV both are one table (a row per line, payout columns first; a payout without lines
has one row with empty line columns). Every text cell goes through `csvsafe.cell`, also in
the xlsx, where openpyxl would otherwise store a text starting with "=" as a formula.
Amounts are Decimal (exact, from minor units), written as numbers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from leadbill.domain import csvsafe

PAYOUT_COLUMNS = ("payout", "partner_code", "partner_name", "period", "first_day", "last_day", "currency", "status",
                  "net", "tax", "total", "leads_paid", "leads_deducted", "self_invoices", "paid_on",
                  "paid_reference", "tax_estimated")  # fmt: skip
LINE_COLUMNS = ("position", "kind", "description", "quantity", "unit_price", "amount")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


@dataclass(frozen=True, slots=True)
class PayoutRow:
    values: tuple[Any, ...]  # in PAYOUT_COLUMNS order
    lines: tuple[tuple[Any, ...], ...]  # each in LINE_COLUMNS order


def csv_bytes(rows: Sequence[PayoutRow]) -> bytes:
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow(PAYOUT_COLUMNS + LINE_COLUMNS)
    for row in rows:
        for line in row.lines or ((None,) * len(LINE_COLUMNS),):
            writer.writerow(row.values + line)
    return out.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, Decimal | int | date):
        return value  # numbers as numbers (a Decimal keeps its digits), days as dates
    return csvsafe.cell(value)


def xlsx_bytes(rows: Sequence[PayoutRow]) -> bytes:
    book = Workbook(write_only=True)
    payouts = book.create_sheet("Payouts")
    payouts.append(list(PAYOUT_COLUMNS))
    lines = book.create_sheet("Lines")
    lines.append(["payout", "partner_code", "period", *LINE_COLUMNS])
    for row in rows:
        payouts.append([_xlsx_cell(v) for v in row.values])
        for line in row.lines:
            lines.append([_xlsx_cell(v) for v in (row.values[0], row.values[1], row.values[3], *line)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
