"""Invoice run speed: preview, dashboard and issue over N deliveries and P partners, against bare SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python benchmarks/invoice_run.py \
        --deliveries 1000000 --partners 10000

Creates a scratch database (PostgreSQL: `<name>_bench_run`, dropped first and at the end; SQLite:
a temp file), fills it set-based (COPY) and counts the billing summary once (the importer keeps it
as it goes; here it is rebuilt after the raw fill, and timed), then times in the same run:
  raw GROUP BY  SELECT partner_id, COUNT(*), SUM(price_micros) ... GROUP BY partner_id over the period
  preview       invoice_run_preview (everything an auditor sees, nothing written), three ways:
                cold (nothing kept: every partner drafted), again with nothing written in between
                (the drafts kept between writes, `invoicing.kept`; the figure the goal is read
                against), and after a new delivery for one partner (that partner drafted again)
  dashboard     what the console dashboard reads: the page (deliveries this month, twelve months
                billed, receivables) and its "billable now" fragment (the run's totals)
  issue         invoice_run_issue (documents, lines, per-lead billed amounts, summary, ledger,
                audit rows), with the time of each step
  raw COPY      COPY of the same billed-lead rows into a table with the same indexes
and prints each time and its ratio. Goals: preview <= 2x, dashboard <= 2x and issue <= 10x the
GROUP BY; issue <= 3x the raw COPY of its billed leads.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (PostgreSQL) for a look")
    parser.add_argument("--profile", action="store_true", help="print where one preview spends its time, then stop")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = scratch_database(os.environ.get("DATABASE_URL", "sqlite:///x"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from leadbill.catalog.models import LeadType, PricePlan
    from leadbill.deliveries import summary
    from leadbill.deliveries.selectors import delivered_in
    from leadbill.deliveries.services import delivery_record
    from leadbill.domain import periods
    from leadbill.entities.models import Entity
    from leadbill.entities.services import ensure_series
    from leadbill.invoicing import kept
    from leadbill.invoicing.selectors import billed_by_month, preview_totals, receivables
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
    t0 = time.perf_counter()
    with transaction.atomic():
        summary.rebuild(entity.pk, entity.timezone)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT COUNT(*) FROM deliveries_billingsummary")
        summary_rows = cur.fetchone()[0]
    print(f"billing summary: {summary_rows:,} rows, counted in {time.perf_counter() - t0:.1f} s")

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

    def dashboard_page() -> None:
        today = period.last_day
        delivered_in(entity, period)
        billed_by_month(entity, [(2025, m) for m in range(2, 13)] + [(2026, 1)])
        receivables(entity, today)

    extra = iter(range(10**6))

    def dashboard_billable() -> None:
        totals = preview_totals(invoice_run_preview(entity=entity, period=period))
        assert sum(t["leads"] for t in totals.values()) == args.deliveries

    def preview_cold() -> None:
        kept.clear()
        invoice_run_preview(entity=entity, period=period)

    def added() -> int:
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM deliveries_delivery WHERE external_id LIKE 'extra%%'")
            return int(cur.fetchone()[0])

    def preview_after_one_delivery() -> None:
        n = next(extra)
        delivery_record(actor="bench", entity=entity, external_id=f"extra{n}", partner=partners[n].code,
                        lead_type="auto", lead_id=f"extra-lead{n}", delivered_at=period.start + timedelta(hours=n),
                        price="1.25", currency="USD")  # fmt: skip
        invoice_run_preview(entity=entity, period=period)

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(invoice_run_preview, entity=entity, period=period)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return 0
    raw_s = best(raw, args.repeat)
    cold_s = best(preview_cold, args.repeat)
    preview_s = best(lambda: invoice_run_preview(entity=entity, period=period), args.repeat)
    page_s = best(dashboard_page, args.repeat)
    billable_s = best(dashboard_billable, args.repeat)
    one_s = best(preview_after_one_delivery, args.repeat)
    deliveries = args.deliveries + added()
    steps = StepClock()
    t = time.perf_counter()
    with steps.watching():
        result = invoice_run_issue(actor="bench", entity=entity, period=period, batch_size=args.partners)
    issue_s = time.perf_counter() - t
    assert not result.failures, list(result.failures.items())[:3]
    assert len(result.issued) == min(args.partners, args.deliveries), (len(result.issued), result.run.summary)
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM invoicing_billedlead")
        billed = cur.fetchone()[0]
    assert billed == deliveries, billed
    copy_s = raw_copy_of_billed_leads()
    assert summary.drift(entity.pk, entity.timezone) == [], "the billing summary drifted"
    load = os.getloadavg()
    print(f"load average : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"raw GROUP BY : {raw_s * 1000:9.1f} ms")
    print(f"preview      : {preview_s * 1000:9.1f} ms   ratio {preview_s / raw_s:6.1f}x   (goal <= 2x; drafts kept "
          f"between writes)")  # fmt: skip
    print(
        f"  cold       : {cold_s * 1000:9.1f} ms   ratio {cold_s / raw_s:6.1f}x   (nothing kept: every partner drafted)"
    )
    print(f"  1 changed  : {one_s * 1000:9.1f} ms   ratio {one_s / raw_s:6.1f}x   (a delivery recorded for one "
          f"partner, then the preview; both timed)")  # fmt: skip
    print(f"dashboard    : {page_s * 1000:9.1f} ms page + {billable_s * 1000:.1f} ms billable now   "
          f"ratio {page_s / raw_s:.1f}x + {billable_s / raw_s:.1f}x   (goal <= 2x)")  # fmt: skip
    print(f"issue        : {issue_s * 1000:9.1f} ms   ratio {issue_s / raw_s:6.1f}x   (goal <= 10x; "
          f"{len(result.issued):,} invoices, {billed:,} per-lead rows)")  # fmt: skip
    print(f"raw COPY     : {copy_s * 1000:9.1f} ms   issue / COPY {issue_s / copy_s:6.1f}x   (goal <= 3x)")
    steps.report(issue_s)
    connection.close()
    if not args.keep:
        drop_scratch(os.environ["DATABASE_URL"])
    return 0


class StepClock:
    """Time spent in the issue's steps, by wrapping the functions it calls (nested steps count in their parent)."""

    STEPS = (
        ("leadbill.invoicing.services", "over_cap_of", "caps: leads over cap"),
        ("leadbill.invoicing.facts", "materialise_billable", "facts: resolve and rank the billable leads"),
        ("leadbill.invoicing.services", "_add_activity", "facts: activity and cap counts (summary)"),
        ("leadbill.invoicing.services", "_drafts", "drafting in Python"),
        ("leadbill.invoicing.services", "_persist", "persist (the rows below, and the rest)"),
        ("leadbill.invoicing.services", "allocate_numbers", "  numbers"),
        ("leadbill.invoicing.services", "bulk_insert", "  documents and lines (COPY)"),
        ("leadbill.invoicing.facts", "allocate_billed_leads", "  billed leads (INSERT ... SELECT)"),
        ("leadbill.invoicing.services", "_check_allocation", "  allocation checked against the lines"),
        ("leadbill.deliveries.summary", "record_issue", "  billing summary: open -> billed"),
        ("leadbill.receivables.services", "open_entries", "  receivables ledger entries"),
        ("leadbill.receivables.services", "apply_automatically", "  credits applied"),
        ("leadbill.invoicing.services", "audit_record_many", "  audit rows"),
    )

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    @contextlib.contextmanager
    def watching(self):  # type: ignore[no-untyped-def]
        import importlib

        saved = []
        for module_name, name, label in self.STEPS:
            module = importlib.import_module(module_name)
            original = getattr(module, name)
            saved.append((module, name, original))
            setattr(module, name, self._timed(original, label))
        try:
            yield
        finally:
            for module, name, original in saved:
                setattr(module, name, original)

    def _timed(self, fn, label):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - t

        return timed

    def report(self, total: float) -> None:
        print("where the issue's time goes:")
        top = 0.0
        for _, _, label in self.STEPS:
            if label in self.spent:
                print(f"  {label:<48} {self.spent[label] * 1000:9.1f} ms")
                top += 0.0 if label.startswith("  ") else self.spent[label]
        print(f"  {'run bookkeeping, partners, transaction, commit':<48} {(total - top) * 1000:9.1f} ms")


def raw_copy_of_billed_leads() -> float:
    """Time a raw COPY of the run's billed-lead rows into a table with the same indexes (SQLite: executemany)."""
    from django.db import connection, transaction

    cols = "delivery_id, invoice_id, line_id, amount_minor, voided"
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            data = io.BytesIO()
            with cur.cursor.copy(f"COPY (SELECT {cols} FROM invoicing_billedlead) TO STDOUT") as copy:
                for block in copy:
                    data.write(block)
            cur.execute("CREATE TABLE bench_billed_copy (LIKE invoicing_billedlead INCLUDING ALL)")
            t = time.perf_counter()
            with cur.cursor.copy(f"COPY bench_billed_copy ({cols}) FROM STDIN") as copy:
                copy.write(data.getvalue())
            spent = time.perf_counter() - t
        else:
            cur.execute(f"SELECT {cols} FROM invoicing_billedlead")
            rows = cur.fetchall()
            cur.execute("CREATE TABLE bench_billed_copy AS SELECT * FROM invoicing_billedlead WHERE 0")
            cur.execute("CREATE UNIQUE INDEX bench_once ON bench_billed_copy (delivery_id) WHERE NOT voided")
            cur.execute("CREATE INDEX bench_invoice ON bench_billed_copy (invoice_id)")
            t = time.perf_counter()
            cur.executemany(f"INSERT INTO bench_billed_copy ({cols}) VALUES (%s, %s, %s, %s, %s)", rows)
            spent = time.perf_counter() - t
        cur.execute("DROP TABLE bench_billed_copy")
    return spent


def drop_scratch(url: str) -> None:
    cfg = dj_database_url.parse(url)
    if cfg["ENGINE"].endswith("sqlite3"):
        return
    import psycopg

    admin = f"postgresql://{cfg['USER'] or 'postgres'}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
