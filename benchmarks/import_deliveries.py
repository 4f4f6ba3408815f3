"""Benchmark: `deliveries_import` against a raw load of the same CSV, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbill_bench python benchmarks/import_deliveries.py
    DATABASE_URL=sqlite:///tmp/bench.sqlite3 python benchmarks/import_deliveries.py --rows 200000

The database named by DATABASE_URL is dropped and created afresh (PostgreSQL) or
replaced (SQLite file), then migrated. Baselines: on PostgreSQL a plain
`COPY ... FROM STDIN (FORMAT csv)` of the file into a bare table with the same
columns (no index, no constraint); on SQLite csv.reader + one `executemany` into such
a table. Both run inside one transaction like the import. Prints rows/s and the ratio
import/raw (1.0 would be as fast as the raw load).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PARTNERS = 5
PROFILES_PER_PARTNER = 3
PRICES = ("1.50", "2.00", "2.125", "3", "0.75")
HEADER = [
    "external_id", "partner", "profile", "lead_type", "lead_id", "delivered_at", "price", "currency",
    "source", "cost", "lead.zip", "lead.state",
]  # fmt: skip
RAW_COLUMNS_PG = (
    "external_id text, partner text, profile text, lead_type text, lead_id text, delivered_at timestamptz, "
    "price numeric, currency text, source text, cost numeric, lead_zip text, lead_state text"
)


def generate(path: Path, rows: int) -> None:
    rnd = random.Random(20260101)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            p = rnd.randrange(PARTNERS)
            supplied = i % 2 == 0
            writer.writerow(
                [
                    f"D{i:09d}",
                    f"buyer-{p}",
                    f"campaign-{p}-{rnd.randrange(PROFILES_PER_PARTNER)}" if i % 3 else "",
                    "auto" if i % 4 else "home",
                    f"lead-{rnd.randrange(10**12)}",
                    (start + timedelta(seconds=i * 2)).isoformat(),
                    rnd.choice(PRICES),
                    "EUR",
                    "supplier-1" if supplied else "",
                    "0.4" if supplied else "",
                    f"{rnd.randrange(10000, 99999)}",
                    rnd.choice(("CA", "NY", "TX")),
                ]
            )


def fresh_database(url: str) -> str:
    """Drop and create the database of a PostgreSQL URL, or remove a SQLite file; returns the URL."""
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        name = parts.path.lstrip("/") or "leadbill_bench"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(parts._replace(path=f"/{name}"))
    if parts.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite://"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return url
    raise SystemExit(f"DATABASE_URL must be PostgreSQL or a SQLite file, not {url!r}")


def setup_data():  # type: ignore[no-untyped-def]
    from leadbill.catalog.models import LeadType
    from leadbill.entities.models import Entity
    from leadbill.partners.models import Partner, Profile

    entity = Entity.objects.create(
        slug="bench", legal_name="Bench Leads Ltd", country="DE", currency="EUR",
        timezone="Europe/Berlin", invoice_prefix="B-",
    )  # fmt: skip
    for p in range(PARTNERS):
        partner = Partner.objects.create(entity=entity, code=f"buyer-{p}", name=f"Buyer {p}", currency="EUR")
        for j in range(PROFILES_PER_PARTNER):
            Profile.objects.create(partner=partner, code=f"campaign-{p}-{j}", name=f"Campaign {p}-{j}")
    Partner.objects.create(
        entity=entity, code="supplier-1", name="Supplier 1", currency="EUR", is_buyer=False, is_supplier=True
    )
    for code in ("auto", "home"):
        LeadType.objects.create(entity=entity, code=code, name=code.title())
    return entity


def time_import(entity, path: Path) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from leadbill.deliveries.services import deliveries_import

    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        result = deliveries_import(actor="bench", entity=entity, stream=stream, file_name=path.name)
    elapsed = time.perf_counter() - start
    if result.error_count or result.refused:
        raise SystemExit(f"the import refused rows: {[str(e) for e in result.errors[:5]]}")
    return elapsed, result.created


def time_raw(path: Path) -> float:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw")
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE bench_raw ({RAW_COLUMNS_PG})")
            with (
                path.open("rb") as raw_file,
                cursor.cursor.copy("COPY bench_raw FROM STDIN (FORMAT csv, HEADER true)") as copy,
            ):
                while block := raw_file.read(1 << 20):
                    copy.write(block)
        else:
            cursor.execute(f"CREATE TABLE bench_raw ({', '.join(f'c{i}' for i in range(len(HEADER)))})")
            with path.open(encoding="utf-8", newline="") as stream:
                reader = csv.reader(stream)
                next(reader)
                sql = f"INSERT INTO bench_raw VALUES ({', '.join('?' * len(HEADER))})"
                cursor.cursor.executemany(sql, reader)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv", type=Path, help="keep the generated file here (default: a temp file)")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.gettempdir()}/leadbill_bench.sqlite3"
    os.environ["DATABASE_URL"] = fresh_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    entity = setup_data()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv or Path(tmp) / "deliveries.csv"
        t0 = time.perf_counter()
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"{connection.vendor}: {args.rows:,} rows, {size_mb:.1f} MB generated in {time.perf_counter() - t0:.1f} s")

        imported_s, created = time_import(entity, path)
        if created != args.rows:
            raise SystemExit(f"created {created} of {args.rows} rows")
        raw_s = time_raw(path)

    import_rate, raw_rate = args.rows / imported_s, args.rows / raw_s
    baseline = "COPY (csv) into a bare table" if connection.vendor == "postgresql" else "csv.reader + executemany"
    print(f"deliveries_import : {imported_s:7.2f} s  {import_rate:12,.0f} rows/s")
    print(f"raw {baseline:<28}: {raw_s:7.2f} s  {raw_rate:12,.0f} rows/s")
    print(f"ratio import/raw  : {import_rate / raw_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.exit(main())
