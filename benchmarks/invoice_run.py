"""Invoice run speed: preview and issue over N deliveries and P partners, against a bare GROUP BY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python benchmarks/invoice_run.py \
        --deliveries 1000000 --partners 10000

Creates a scratch database (PostgreSQL: `<name>_bench_run`, dropped first; SQLite: a temp
file), fills it set-based, then times in the same run:
  raw      SELECT partner_id, COUNT(*), SUM(price_micros) ... GROUP BY partner_id over the period
  preview  invoice_run_preview (everything an auditor sees, nothing written)
  issue    invoice_run_issue (documents, lines, per-lead billed amounts, audit rows)
and prints each time and its ratio to raw. Goals: preview <= 2x, issue <= 10x.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import dj_database_url


def scratch_database(url: str) -> str:
    cfg = dj_database_url.parse(url)
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    import psycopg

    name = f"{cfg['NAME']}_bench_run"
    admin = f"postgresql://{cfg['USER'] or 'postgres'}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats for raw and preview (best of)")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = scratch_database(os.environ.get("DATABASE_URL", "sqlite:///x"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from leadbill.catalog.models import LeadType, PricePlan
    from leadbill.domain import periods
    from leadbill.entities.models import Entity
    from leadbill.entities.services import ensure_series
    from leadbill.invoicing.services import invoice_run_issue, invoice_run_preview
    from leadbill.partners.models import Partner

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    entity = Entity.objects.create(slug="bench", legal_name="Bench Leads Inc.", country="US", currency="USD",
                                   timezone="UTC", invoice_prefix="B-")  # fmt: skip
    ensure_series(entity)
    lead_type = LeadType.objects.create(entity=entity, code="auto", name="Auto")
    partners = Partner.objects.bulk_create(
        [Partner(entity=entity, code=f"p{i:05d}", name=f"Partner {i}", currency="USD") for i in range(args.partners)]
    )
    since = datetime(2020, 1, 1, tzinfo=UTC)
    tiers = [{"up_to": 50, "price": "2.00"}, {"up_to": 150, "price": "1.50"}, {"up_to": None, "price": "1.00"}]
    configs = [("flat", {"price": "2.50"}), ("graduated", {"tiers": tiers}), ("volume", {"tiers": tiers}),
               ("delivered", {})]  # fmt: skip
    PricePlan.objects.bulk_create(
        [PricePlan(entity=entity, partner=p, model=configs[i % 4][0], config=configs[i % 4][1], effective_from=since)
         for i, p in enumerate(partners)]
    )  # fmt: skip
    period = periods.month(2026, 1, "UTC")
    rng = random.Random(1)
    start = period.start
    span = int((period.end - period.start).total_seconds())
    ids = [p.pk for p in partners]
    t0 = time.perf_counter()
    rows = (
        (entity.pk, f"d{n}", ids[n % len(ids)], lead_type.pk, f"lead{n}", start + timedelta(seconds=rng.randrange(span)),
         rng.randrange(1_000_000, 30_000_000), "USD", "{}", start)
        for n in range(args.deliveries)
    )  # fmt: skip
    cols = "entity_id, external_id, partner_id, lead_type_id, lead_id, delivered_at, price_micros, currency, fields, created_at"
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY deliveries_delivery ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute("ANALYZE")
        else:
            ops = connection.ops
            cur.executemany(
                f"INSERT INTO deliveries_delivery ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(*r[:5], ops.adapt_datetimefield_value(r[5]), *r[6:9], ops.adapt_datetimefield_value(r[9]))
                 for r in rows],
            )  # fmt: skip
            cur.execute("ANALYZE")
    print(f"filled {args.deliveries:,} deliveries for {args.partners:,} partners in {time.perf_counter() - t0:.1f} s")

    def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    def raw() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT partner_id, COUNT(*), SUM(price_micros) FROM deliveries_delivery "
                "WHERE entity_id = %s AND delivered_at >= %s AND delivered_at < %s GROUP BY partner_id",
                [entity.pk, connection.ops.adapt_datetimefield_value(period.start),
                 connection.ops.adapt_datetimefield_value(period.end)],
            )  # fmt: skip
            assert len(cur.fetchall()) == min(args.partners, args.deliveries)

    raw_s = best(raw, args.repeat)
    preview_s = best(lambda: invoice_run_preview(entity=entity, period=period), args.repeat)
    t = time.perf_counter()
    result = invoice_run_issue(actor="bench", entity=entity, period=period, batch_size=args.partners)
    issue_s = time.perf_counter() - t
    assert not result.failures, list(result.failures.items())[:3]
    assert len(result.issued) == min(args.partners, args.deliveries)
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM invoicing_billedlead")
        billed = cur.fetchone()[0]
    assert billed == args.deliveries, billed
    print(f"raw GROUP BY : {raw_s * 1000:9.1f} ms")
    print(f"preview      : {preview_s * 1000:9.1f} ms   ratio {preview_s / raw_s:6.1f}x   (goal <= 2x)")
    print(f"issue        : {issue_s * 1000:9.1f} ms   ratio {issue_s / raw_s:6.1f}x   (goal <= 10x; "
          f"{len(result.issued):,} invoices, {billed:,} per-lead rows)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
