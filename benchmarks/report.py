"""Invoice report CSV speed, against a raw read of the same delivery rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python benchmarks/report.py [--leads 1000000]
    DATABASE_URL=sqlite:///x python benchmarks/report.py --leads 300000   (a temp SQLite file)

Creates a scratch database (PostgreSQL: `<name>_bench_report`, dropped first; SQLite: a temp
file), one partner with --leads deliveries in January 2026 (billed by a real invoice run, 1 %
returned and credited) and a second partner with ~1,000 leads, then times in the same run:
  raw      PostgreSQL: COPY (SELECT the partner's delivery rows) TO STDOUT, read to the end;
           SQLite: the same SELECT fetched to the end
  report   the report CSV (csv_chunks), read to the end
for the big partner and for the small one. Goals: report >= 0.3x raw rows/s on 1,000,000
leads; the ~1,000-lead month answers in <= 3x the raw read (on SQLite too: the report's join
to the billed leads must use the `lead_billed_once` index, else it is quadratic).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from invoice_run import scratch_database


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["big", "small"], help="time one partner's report only")
    parser.add_argument(
        "--analyze", action="store_true", help="SQLite: ANALYZE after filling (a live SQLite file has no statistics)"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or "sqlite:///x"
    postgres = url.startswith("postgres")
    os.environ["DATABASE_URL"] = scratch_database(url).replace("_bench_run", "_bench_report")
    if postgres:
        _recreate(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from leadbill.catalog.models import LeadType, PricePlan
    from leadbill.deliveries.models import Return
    from leadbill.documents.report import ReportQuery, csv_chunks
    from leadbill.domain import periods
    from leadbill.entities.models import Entity
    from leadbill.entities.services import ensure_series
    from leadbill.invoicing.services import invoice_run_issue
    from leadbill.partners.models import Partner

    call_command("migrate", verbosity=0)
    entity = Entity.objects.create(slug="bench", legal_name="Bench Leads GmbH", country="DE", currency="EUR",
                                   timezone="Europe/Berlin", invoice_prefix="B-", tax_id="DE811223345")  # fmt: skip
    ensure_series(entity)
    lead_type = LeadType.objects.create(entity=entity, code="auto", name="Auto")
    big = Partner.objects.create(entity=entity, code="big", name="Big Buyer", currency="EUR",
                                 report_fields=["state", "zip"])  # fmt: skip
    small = Partner.objects.create(entity=entity, code="small", name="Small Buyer", currency="EUR",
                                   report_fields=["state", "zip"])  # fmt: skip
    tiers = [{"up_to": 1000, "price": "2.00"}, {"up_to": None, "price": "1.50"}]
    for p in (big, small):
        PricePlan.objects.create(entity=entity, partner=p, model="graduated", config={"tiers": tiers},
                                 effective_from=datetime(2020, 1, 1, tzinfo=UTC))  # fmt: skip
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for partner, count, step in ((big, args.leads, 2), (small, 1_000, 2_600)):
            if not postgres:
                cur.execute(
                    """WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)
                       INSERT INTO deliveries_delivery (entity_id, external_id, partner_id, lead_type_id, lead_id,
                              delivered_at, currency, fields, created_at)
                       SELECT %s, %s || n, %s, %s, 'lead-' || n,
                              strftime('%%Y-%%m-%%d %%H:%%M:%%S', '2025-12-31 23:00:00', '+' || (n * %s) || ' seconds'),
                              'EUR', json_object('state', 'TX', 'zip', CAST(10000 + n %% 89999 AS TEXT)),
                              '2026-01-01 00:00:00'
                         FROM g""",
                    [count, entity.pk, partner.code, partner.pk, lead_type.pk, step],
                )  # fmt: skip
                continue
            cur.execute(
                """INSERT INTO deliveries_delivery (entity_id, external_id, partner_id, lead_type_id, lead_id,
                          delivered_at, currency, fields, created_at)
                   SELECT %s, %s || g, %s, %s, 'lead-' || g, '2026-01-01 00:00+01'::timestamptz + g * %s * interval '1 second',
                          'EUR', jsonb_build_object('state', 'TX', 'zip', (10000 + g %% 89999)::text), now()
                     FROM generate_series(1, %s) g""",
                [entity.pk, partner.code, partner.pk, lead_type.pk, step, count],
            )  # fmt: skip
        if postgres or args.analyze:
            cur.execute("ANALYZE")
    jan = periods.month(2026, 1, "Europe/Berlin")
    invoice_run_issue(actor="bench", entity=entity, period=jan, issue_date=date(2026, 2, 1))
    with connection.cursor() as cur:  # 1 % returned after billing, credited in February
        cur.execute(
            """INSERT INTO deliveries_return (entity_id, delivery_id, reason, status, requested_at, decided_at,
                      decided_by, decision_note)
               SELECT entity_id, id, 'bad phone', 'accepted', '2026-02-02', '2026-02-02', 'bench', ''
                 FROM deliveries_delivery WHERE id % 100 = 0"""
        )  # fmt: skip
    feb = periods.month(2026, 2, "Europe/Berlin")
    invoice_run_issue(actor="bench", entity=entity, period=feb, issue_date=date(2026, 3, 1))
    with connection.cursor() as cur:
        # Fresh statistics, as autovacuum would have them: right after a million billed-lead rows the
        # planner's estimates are stale, and the report took 330 s instead of 3 s in one such run.
        # Nothing runs ANALYZE on a SQLite file in use, so by default it is left without statistics here.
        if postgres or args.analyze:
            cur.execute("ANALYZE")
    print(f"filled and billed {args.leads:,} + 1,000 leads in {time.perf_counter() - t0:.1f} s "
          f"({Return.objects.count():,} returns credited)")  # fmt: skip

    def raw(partner: Partner) -> int:
        size = 0
        if not postgres:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT delivered_at, lead_id, lead_type_id, profile_id, fields, currency FROM deliveries_delivery"
                    " WHERE partner_id = %s AND delivered_at >= %s AND delivered_at < %s ORDER BY delivered_at, id",
                    [
                        partner.pk,
                        f"{jan.start.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
                        f"{jan.end.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
                    ],
                )
                while batch := cur.fetchmany(5_000):
                    size += sum(len(str(v)) + 1 for row in batch for v in row)
            return size
        with (
            connection.cursor() as cur,
            cur.cursor.copy(
                "COPY (SELECT delivered_at, lead_id, lead_type_id, profile_id, fields, currency FROM deliveries_delivery"
                f" WHERE partner_id = {int(partner.pk)} AND delivered_at >= '{jan.start.isoformat()}'"
                f" AND delivered_at < '{jan.end.isoformat()}' ORDER BY delivered_at, id) TO STDOUT WITH (FORMAT csv)"
            ) as copy,
        ):
            for chunk in copy:
                size += len(chunk)
        return size

    def report(partner: Partner) -> int:
        return sum(len(c) for c in csv_chunks(ReportQuery(partner, date(2026, 1, 1), date(2026, 1, 31))))

    def best(fn, partner) -> tuple[float, int]:  # type: ignore[no-untyped-def]
        times, size = [], 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            size = fn(partner)
            times.append(time.perf_counter() - t)
        return min(times), size

    for partner, rows, goal in ((big, args.leads, "report >= 0.3x raw rows/s"), (small, 1_000, "report <= 3x raw")):
        if args.only and partner.code != args.only:
            continue
        raw_s, raw_size = best(raw, partner)
        rep_s, rep_size = best(report, partner)
        print(f"{partner.code:6} {rows:>9,} leads: raw {'COPY' if postgres else 'read'} {raw_s * 1000:8.1f} ms ({rows / raw_s:>10,.0f} rows/s, "
              f"{raw_size / 1e6:5.1f} MB) | report {rep_s * 1000:8.1f} ms ({rows / rep_s:>10,.0f} rows/s, "
              f"{rep_size / 1e6:5.1f} MB) | speed {raw_s / rep_s:4.2f}x raw, time {rep_s / raw_s:4.2f}x raw  ({goal})")  # fmt: skip
    return 0


def _recreate(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    raise SystemExit(main())
