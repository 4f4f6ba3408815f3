"""A statement of account as CSV (every cell spreadsheet-safe) and as PDF (Typst, like the report)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from leadbill.documents.formatting import Formatter
from leadbill.domain import csvsafe
from leadbill.domain.money import minor_to_decimal
from leadbill.receivables.selectors import AGING_BUCKETS, Statement

COLUMNS = ["Date", "Entry", "Document", "Reference", "Charges", "Credits", "Balance"]


def statement_csv(st: Statement) -> str:
    """One row per line between an opening and a closing row; amounts as plain decimals."""
    c = st.currency

    def dec(minor: int) -> Any:
        return minor_to_decimal(minor, c)

    out = io.StringIO()
    w = csvsafe.writer(out)
    w.writerow(COLUMNS)
    w.writerow([st.first_day.isoformat(), "Opening balance", "", "", "", "", dec(st.opening_minor)])
    for line in st.lines:
        w.writerow([line.day.isoformat(), line.what, line.document, line.reference,
                    dec(line.debit_minor) if line.debit_minor else "", dec(line.credit_minor) if line.credit_minor else "",
                    dec(line.balance_minor)])  # fmt: skip
    w.writerow([st.last_day.isoformat(), "Closing balance", "", "", "", "", dec(st.closing_minor)])
    w.writerow([])
    w.writerow(["Aging", *[name for name, _, _ in AGING_BUCKETS], "Credit on account"])
    w.writerow([st.last_day.isoformat(), *[dec(st.aging[name]) for name, _, _ in AGING_BUCKETS], dec(st.credit_minor)])
    return out.getvalue()


def statement_payload(st: Statement) -> dict[str, Any]:
    entity = st.partner.entity
    f = Formatter(entity.locale, st.currency)
    rows = [[f.date(st.first_day), "Opening balance", "", "", "", "", f.money(st.opening_minor)]]
    for line in st.lines:
        rows.append([f.date(line.day), line.what, line.document, line.reference,
                     f.money(line.debit_minor) if line.debit_minor else "",
                     f.money(line.credit_minor) if line.credit_minor else "", f.money(line.balance_minor)])  # fmt: skip
    rows.append([f.date(st.last_day), "Closing balance", "", "", "", "", f.money(st.closing_minor)])
    return {
        "entity": entity.legal_name,
        "partner": st.partner.legal_name or st.partner.name,
        "currency": st.currency,
        "range": f.period(st.first_day, st.last_day),
        "last_day": f.date(st.last_day),
        "columns": COLUMNS,
        "rows": rows,
        "summary": [
            ["Opening balance", f.money(st.opening_minor)],
            ["Closing balance", f.money(st.closing_minor)],
            ["Credit on account", f.money(st.credit_minor)],
        ],
        "aging": [[name, f.money(st.aging[name])] for name, _, _ in AGING_BUCKETS],
        "lang": entity.locale.split("_")[0],
    }


def statement_pdf(st: Statement) -> bytes:
    from leadbill.documents.pdf import workspace

    when = datetime.combine(st.last_day, datetime.min.time(), tzinfo=UTC)
    return workspace().compile("statement", {"statement": json.dumps(statement_payload(st))}, when=when)


def statement_file_name(st: Statement, extension: str) -> str:
    return f"statement-{st.partner.code}-{st.currency}-{st.first_day.isoformat()}-{st.last_day.isoformat()}.{extension}"
