"""The plain double-entry journal as CSV: one row per posting, debits and credits in separate columns.

Read by people (a spreadsheet) and by any ledger that imports a general-journal CSV: every text
cell spreadsheet-safe, amounts as decimals with the currency's digits, dates ISO 8601.
"""

from __future__ import annotations

from leadbill.books.formats.common import File, amount, csv_bytes, percent, text
from leadbill.books.selectors import Period
from leadbill.domain import journal as j

HEADER = ["Date", "Document", "Kind", "Party", "Account", "Debit", "Credit", "Currency", "TaxRate", "TaxCode",
          "Text"]  # fmt: skip


def render(period: Period, entries: list[j.Entry], columns: dict[str, object]) -> list[File]:
    rows: list[list[object]] = []
    for e in entries:
        f = e.facts
        for p in e.postings:
            rows.append([
                f.on.isoformat(), text(f.number), f.kind, text(f.party), text(p.account),
                amount(p.debit_minor, f.currency) if p.debit_minor else "",
                amount(p.credit_minor, f.currency) if p.credit_minor else "",
                f.currency, "" if p.tax_rate_bp is None else percent(p.tax_rate_bp),
                text(p.tax_code), text(p.text),
            ])  # fmt: skip
    name = f"journal-{period.entity.slug}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return [File(name, csv_bytes(HEADER, rows))]
