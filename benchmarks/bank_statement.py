"""Benchmark: a camt.053 of 10,000 credits matched to 10,000 open invoices and recorded, on the embedded SQLite.

    python benchmarks/bank_statement.py [--entries 10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbill_bench python benchmarks/bank_statement.py

A fresh database (a SQLite file in a temporary LEADBILL_HOME, or the PostgreSQL database
named by DATABASE_URL, dropped and created) gets one entity, 100 partners and N issued
invoices (bulk-created rows with their opening ledger entries, as issuing writes them).
The statement pays each invoice in full: 40% by RF reference, 30% by the invoice number in
the free text, 20% by the open amount alone (amounts are unique), and 10% are credits no
invoice matches. Timed in the same run:

- raw: lxml parsing the file alone (the hardened parser), the baseline;
- parse: `bankfiles.parse_camt` (the file to bank lines, amounts read exactly);
- import: `bank_statement_import` (parse, match, one transaction per entry with its
  payment recorded by `payment_record`), then the replay of the same file.

Prints the time per entry and each ratio to the raw parse; goal: the import under 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

GOAL_SECONDS = 10.0
PARTNERS = 100
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def entry_xml(i: int, amount: str, *, ref: str = "", text: str = "", debtor: str = "") -> str:
    strd = (f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{ref}</Ref></CdtrRefInf></Strd>"
            if ref else "")  # fmt: skip
    ustrd = f"<Ustrd>{text}</Ustrd>" if text else ""
    return (
        f'<Ntry><NtryRef>{i}</NtryRef><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-02-05</Dt></BookgDt><ValDt><Dt>2026-02-05</Dt></ValDt>"
        f"<AcctSvcrRef>B{i:09d}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd>"
        f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E{i}</EndToEndId>"
        f'</Refs><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>{debtor}</Nm>'
        f"</Pty></Dbtr></RltdPties><RmtInf>{ustrd}{strd}</RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def statement(invoices: list[tuple[str, int, str]]) -> bytes:
    """invoices: (number, total_minor, partner name); the statement pays each in full."""
    from leadbill.domain.payment_reference import rf_reference

    entries = []
    for i, (number, total, name) in enumerate(invoices):
        amount = f"{total // 100}.{total % 100:02d}"
        kind = i % 10
        if kind < 4:
            entries.append(entry_xml(i, amount, ref=rf_reference(number), debtor=name))
        elif kind < 7:
            entries.append(entry_xml(i, amount, text=f"Payment {number} thank you", debtor=name))
        elif kind < 9:
            entries.append(entry_xml(i, amount, text="January leads", debtor=name))
        else:
            entries.append(entry_xml(i, "0.07", text="unknown", debtor="Somebody"))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId>'
        f"<CreDtTm>2026-02-05T18:00:00+01:00</CreDtTm></GrpHdr><Stmt><Id>BENCH-1</Id>"
        f"<CreDtTm>2026-02-05T18:00:00+01:00</CreDtTm><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def setup_invoices(count: int):  # type: ignore[no-untyped-def]
    """An entity, its partners and `count` issued invoices with their opening ledger entries."""
    from django.db import transaction

    from leadbill.entities.models import Entity
    from leadbill.invoicing.models import Invoice
    from leadbill.partners.models import Partner
    from leadbill.receivables.services import open_entries

    entity = Entity.objects.create(slug="bench", legal_name="Bench Leads Ltd", country="DE", currency="EUR",
                                   timezone="Europe/Berlin", invoice_prefix="B-")  # fmt: skip
    partners = Partner.objects.bulk_create(
        [Partner(entity=entity, code=f"buyer-{p}", name=f"Buyer {p} GmbH", currency="EUR") for p in range(PARTNERS)]
    )
    rows = [
        Invoice(entity=entity, partner=partners[i % PARTNERS], kind="invoice", status="issued", series="B-",
                sequence=i + 1, number=f"B-{i + 1:06d}", currency="EUR", subtotal_minor=10_000 + i,
                total_minor=10_000 + i, issue_date=date(2026, 2, 1), due_date=date(2026, 3, 3))
        for i in range(count)
    ]  # fmt: skip
    with transaction.atomic():
        invoices = Invoice.objects.bulk_create(rows, batch_size=1000)
        open_entries(invoices, actor="bench")
    by_pk = {p.pk: p.name for p in partners}
    return entity, [(inv.number, inv.total_minor, by_pk[inv.partner_id]) for inv in invoices]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args()
    os.environ["LEADBILL_HOME"] = tempfile.mkdtemp(prefix="leadbill-bench-bank-")
    url = os.environ.get("DATABASE_URL")
    if url:
        from import_deliveries import fresh_database

        os.environ["DATABASE_URL"] = fresh_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from lxml import etree

    from leadbill.invoicing.models import Invoice, Payment
    from leadbill.receivables import bankfiles
    from leadbill.receivables.statements import bank_statement_import
    from leadbill.xmlsafe import hardened_parser

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    entity, invoices = setup_invoices(args.entries)
    content = statement(invoices)
    print(f"{connection.vendor}: {args.entries:,} open invoices set up in {time.perf_counter() - started:.1f} s; "
          f"statement of {args.entries:,} entries, {len(content) / 1e6:.1f} MB")  # fmt: skip

    started = time.perf_counter()
    etree.fromstring(content, hardened_parser(strip=True))
    raw = time.perf_counter() - started
    started = time.perf_counter()
    parsed = bankfiles.parse_camt(content, "bench.xml")
    parse = time.perf_counter() - started
    started = time.perf_counter()
    result = bank_statement_import(actor="bench", entity=entity, content=content, file_name="bench.xml")
    total = time.perf_counter() - started
    started = time.perf_counter()
    replay = bank_statement_import(actor="bench", entity=entity, content=content, file_name="bench.xml")
    replayed = time.perf_counter() - started

    expected_matched = len(parsed.lines) - len(parsed.lines) // 10
    paid = Invoice.objects.filter(entity=entity, status="paid").count()
    ok = (result.matched, result.unmatched, replay.duplicate, replay.new) == (
        expected_matched, len(parsed.lines) - expected_matched, len(parsed.lines), 0
    ) and paid == expected_matched and Payment.objects.count() == expected_matched  # fmt: skip
    n = len(parsed.lines)
    print(f"{'raw lxml parse':24}: {raw:7.3f} s  {raw / n * 1e6:8.1f} µs/entry   1.0× (baseline)")
    print(f"{'parse_camt':24}: {parse:7.3f} s  {parse / n * 1e6:8.1f} µs/entry  {parse / raw:5.1f}× raw")
    print(f"{'import (match + record)':24}: {total:7.3f} s  {total / n * 1e6:8.1f} µs/entry  {total / raw:5.1f}× raw")
    print(f"{'replay (all duplicates)':24}: {replayed:7.3f} s  {replayed / n * 1e6:8.1f} µs/entry  "
          f"{replayed / raw:5.1f}× raw")  # fmt: skip
    print(f"matched {result.matched:,}, unmatched {result.unmatched:,}, invoices paid {paid:,}: "
          f"{'as expected' if ok else 'NOT as expected'}")  # fmt: skip
    print(
        f"{n:,} entries matched and recorded in < {GOAL_SECONDS:.0f} s: {'met' if total < GOAL_SECONDS else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
