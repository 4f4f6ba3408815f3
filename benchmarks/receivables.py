"""Balances and aging at scale: 10,000 partners with 100,000 documents, against a bare GROUP BY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbill_bench python benchmarks/receivables.py
    python benchmarks/receivables.py --partners 2000 --documents 20000   # the embedded SQLite

Sets up one entity, its partners and invoices (each with its opening ledger entry; a third
part paid, a tenth overpaid into credit on account, due dates spread over five months), then
times, each the best of three:
  baseline       SELECT partner, currency, SUM(amount) FROM the ledger GROUP BY partner, currency
  dashboard      receivables.selectors.entity_receivables (open, overdue, credit per currency)
  aging          receivables.selectors.aging (every partner in buckets of days past due)
  one partner    receivables.selectors.partner_accounts for 100 partners (per call)
and prints each as a ratio to the baseline. Goal: dashboard and aging at most 3× the baseline.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

GOAL = 3.0


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def setup(partners: int, documents: int):  # type: ignore[no-untyped-def]
    from django.db import transaction

    from leadbill.bulk import bulk_insert
    from leadbill.entities.models import Entity
    from leadbill.invoicing.models import Invoice
    from leadbill.partners.models import Partner
    from leadbill.receivables.models import Entry

    entity = Entity.objects.create(slug="bench", legal_name="Bench Leads Ltd", country="DE", currency="EUR",
                                   timezone="Europe/Berlin", invoice_prefix="B-")  # fmt: skip
    buyers = bulk_insert([Partner(entity=entity, code=f"buyer-{p}", name=f"Buyer {p}", currency="EUR")
                          for p in range(partners)])  # fmt: skip
    first_due = date(2026, 7, 1)
    with transaction.atomic():
        invoices = bulk_insert([
            Invoice(entity=entity, partner=buyers[i % partners], kind="invoice", series="B-", sequence=i + 1,
                    number=f"B-{i + 1:07d}", currency="EUR", subtotal_minor=10_000 + i % 997,
                    total_minor=10_000 + i % 997, issue_date=first_due - timedelta(days=30),
                    due_date=first_due + timedelta(days=i % 150),
                    status="paid" if i % 3 == 0 else "issued")
            for i in range(documents)
        ])  # fmt: skip
        entries = []
        for i, inv in enumerate(invoices):
            common = {"entity_id": entity.pk, "partner_id": inv.partner_id, "currency": "EUR",
                      "occurred_on": inv.issue_date, "created_by": "bench"}  # fmt: skip
            billed = {"invoice": inv, "due_on": inv.due_date}
            entries.append(Entry(kind="invoice", amount_minor=inv.total_minor, document=inv, **billed, **common))
            if i % 3 == 0:
                entries.append(Entry(kind="payment", amount_minor=-inv.total_minor, **billed, **common))
            if i % 10 == 1:
                entries.append(Entry(kind="payment", amount_minor=-500, invoice=None, **common))
        bulk_insert(entries)
    return entity, buyers


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["LEADBILL_HOME"] = tempfile.mkdtemp(prefix="leadbill-bench-receivables-")
    url = os.environ.get("DATABASE_URL")
    if url:
        from import_deliveries import fresh_database

        os.environ["DATABASE_URL"] = fresh_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from leadbill.receivables.selectors import aging, entity_receivables, partner_accounts

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    entity, buyers = setup(args.partners, args.documents)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{connection.vendor}: {args.partners:,} partners, {args.documents:,} documents set up in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    today = date(2026, 10, 1)

    def baseline() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT partner_id, currency, SUM(amount_minor) FROM receivables_entry "
                           "GROUP BY partner_id, currency")  # fmt: skip
            cursor.fetchall()

    raw = best(baseline)
    print(f"{'baseline GROUP BY':18}: {raw * 1000:9.1f} ms   1.0×")
    ratios = {}
    for name, fn in (("dashboard", lambda: entity_receivables(entity, today)), ("aging", lambda: aging(entity, today))):
        took = best(fn)
        ratios[name] = took / raw
        print(f"{name:18}: {took * 1000:9.1f} ms   {took / raw:.1f}×")
    sample = buyers[:: max(1, len(buyers) // 100)][:100]
    took = best(lambda: [partner_accounts(p, today) for p in sample], repeat=1) / len(sample)
    print(f"{'one partner':18}: {took * 1000:9.2f} ms per partner")
    met = all(r <= GOAL for r in ratios.values())
    print(f"dashboard and aging within {GOAL:.0f}× the bare GROUP BY: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
