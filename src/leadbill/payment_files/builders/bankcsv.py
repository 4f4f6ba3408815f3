"""The bank CSV: one row per payment, for banks that take a spreadsheet of US transfers instead of NACHA.

The layout is documented in docs/payment-files.md ("Bank CSV"): a header row, then
payment_id, payee_code, payee_name, routing_number, account_number, account_type, amount,
currency, effective_date, reference. Amounts are exact decimals from minor units; every text
cell goes through the project's spreadsheet-safe writer (domain.csvsafe).
"""

from __future__ import annotations

import io

from leadbill.domain import csvsafe
from leadbill.domain.money import minor_to_decimal
from leadbill.payment_files.builders import Batch

COLUMNS = ("payment_id", "payee_code", "payee_name", "routing_number", "account_number", "account_type", "amount",
           "currency", "effective_date", "reference")  # fmt: skip
ACCOUNT_TYPE = "checking"  # seller profiles hold no account type; credits go to checking, as in the NACHA file
MEDIA_TYPE = "text/csv"


def build(batch: Batch) -> bytes:
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for p in batch.payments:
        writer.writerow([
            p.end_to_end_id, p.code, p.name, p.routing_number, p.account_number, ACCOUNT_TYPE,
            minor_to_decimal(p.amount_minor, batch.currency), batch.currency, batch.execution_date.isoformat(),
            p.remittance,
        ])  # fmt: skip
    return out.getvalue().encode("utf-8")
