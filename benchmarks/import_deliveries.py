"""Benchmark: `deliveries_import` against a raw load of the same CSV, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbill_bench python benchmarks/import_deliveries.py
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python benchmarks/import_deliveries.py --rows 200000

The database named by DATABASE_URL is dropped and created afresh (PostgreSQL) or
replaced (SQLite file), then migrated. Two raw baselines run in the same process:

- bare: the file as it is into a table with the same columns and no index or
  constraint, `COPY ... FROM STDIN (FORMAT csv)` on PostgreSQL, csv.reader +
  `executemany` on SQLite;
- table: the same rows, already resolved to ids and micro-units, loaded the same raw
  way straight into deliveries_delivery (its indexes and foreign keys), then removed.

Each runs in one transaction like the import. Prints rows/s and the ratios import/raw
(1.0: as fast as the raw load).
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
from decimal import Decimal
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


def generate(path: Path, resolved: Path, rows: int, ids: dict[str, int]) -> None:
    """The delivery file, and the same rows already resolved to ids for the table baseline."""
    rnd = random.Random(20260101)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stamp = datetime.now(UTC).isoformat(" ")
    entity = ids["entity"]
    with path.open("w", newline="", encoding="utf-8") as out, resolved.open("w", newline="", encoding="utf-8") as res:
        writer, resolved_writer = csv.writer(out), csv.writer(res)
        writer.writerow(HEADER)
        for i in range(rows):
            p = rnd.randrange(PARTNERS)
            supplied = i % 2 == 0
            profile = f"campaign-{p}-{rnd.randrange(PROFILES_PER_PARTNER)}" if i % 3 else ""
            lead_type = "auto" if i % 4 else "home"
            lead_id = f"lead-{rnd.randrange(10**12)}"
            at = (start + timedelta(seconds=i * 2)).isoformat()
            price = rnd.choice(PRICES)
            zip_code, state = f"{rnd.randrange(10000, 99999)}", rnd.choice(("CA", "NY", "TX"))
            writer.writerow(
                [
                    f"D{i:09d}", f"buyer-{p}", profile, lead_type, lead_id, at, price, "EUR",
                    "supplier-1" if supplied else "", "0.4" if supplied else "", zip_code, state,
                ]
            )  # fmt: skip
            resolved_writer.writerow(
                [
                    entity, stamp, f"D{i:09d}", ids[f"buyer-{p}"], ids.get(profile, ""), ids[lead_type], lead_id,
                    at, int(Decimal(price) * 1_000_000), "EUR", f'{{"zip":"{zip_code}","state":"{state}"}}',
                    ids["supplier-1"] if supplied else "", 400_000 if supplied else "",
                ]
            )  # fmt: skip


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
        import dj_database_url

        path = Path(dj_database_url.parse(url)["NAME"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return url
    raise SystemExit(f"DATABASE_URL must be PostgreSQL or a SQLite file, not {url!r}")


def setup_data():  # type: ignore[no-untyped-def]
    """The entity, its partners, profiles and lead types; returns the entity and code -> id."""
    from leadbill.catalog.models import LeadType
    from leadbill.entities.models import Entity
    from leadbill.partners.models import Partner, Profile

    entity = Entity.objects.create(
        slug="bench", legal_name="Bench Leads Ltd", country="DE", currency="EUR",
        timezone="Europe/Berlin", invoice_prefix="B-",
    )  # fmt: skip
    ids = {"entity": entity.pk}
    for p in range(PARTNERS):
        partner = Partner.objects.create(entity=entity, code=f"buyer-{p}", name=f"Buyer {p}", currency="EUR")
        ids[partner.code] = partner.pk
        for j in range(PROFILES_PER_PARTNER):
            profile = Profile.objects.create(partner=partner, code=f"campaign-{p}-{j}", name=f"Campaign {p}-{j}")
            ids[profile.code] = profile.pk
    supplier = Partner.objects.create(
        entity=entity, code="supplier-1", name="Supplier 1", currency="EUR", is_buyer=False, is_supplier=True
    )
    ids[supplier.code] = supplier.pk
    for code in ("auto", "home"):
        ids[code] = LeadType.objects.create(entity=entity, code=code, name=code.title()).pk
    return entity, ids


def time_import(entity, path: Path) -> float:  # type: ignore[no-untyped-def]
    from leadbill.deliveries.services import deliveries_import

    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        result = deliveries_import(actor="bench", entity=entity, stream=stream, file_name=path.name)
    elapsed = time.perf_counter() - start
    if result.error_count or result.refused or result.created != result.rows:
        raise SystemExit(f"the import refused rows: {[str(e) for e in result.errors[:5]]}")
    return elapsed


def time_bare(path: Path) -> float:
    """The file as it is into a table without index or constraint: COPY csv / executemany."""
    from django.db import connection, transaction

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw")
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
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw")
    return elapsed


def time_table(resolved: Path) -> float:
    """The same rows, already resolved to ids, straight into deliveries_delivery (emptied after)."""
    from django.db import connection, transaction

    from leadbill.deliveries.importing import STAGE_COLUMNS

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = f"entity_id, created_at, {', '.join(STAGE_COLUMNS)}"
            with (
                resolved.open("rb") as raw_file,
                cursor.cursor.copy(f"COPY deliveries_delivery ({columns}) FROM STDIN (FORMAT csv)") as copy,
            ):
                while block := raw_file.read(1 << 20):
                    copy.write(block)
        else:
            with resolved.open(encoding="utf-8", newline="") as stream:
                rows = ([None if v == "" else v for v in row] for row in csv.reader(stream))
                columns = f"entity_id, created_at, {', '.join(STAGE_COLUMNS)}"
                sql = (
                    f"INSERT INTO deliveries_delivery ({columns}) VALUES ({', '.join('?' * (len(STAGE_COLUMNS) + 2))})"
                )
                cursor.cursor.executemany(sql, rows)
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE deliveries_delivery CASCADE")  # the referencing tables are empty
        else:
            cursor.execute("DELETE FROM deliveries_delivery")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
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
    entity, ids = setup_data()

    with tempfile.TemporaryDirectory() as tmp:
        path, resolved = Path(tmp) / "deliveries.csv", Path(tmp) / "resolved.csv"
        t0 = time.perf_counter()
        generate(path, resolved, args.rows, ids)
        size_mb = path.stat().st_size / 1e6
        print(
            f"{connection.vendor}: {args.rows:,} rows, {size_mb:.1f} MB generated in {time.perf_counter() - t0:.1f} s"
        )
        bare_s = time_bare(path)
        table_s = time_table(resolved)
        import_s = time_import(entity, path)

    rate = {name: args.rows / seconds for name, seconds in (("import", import_s), ("bare", bare_s), ("table", table_s))}
    pg = connection.vendor == "postgresql"
    rows = [
        ("deliveries_import of the file", import_s, rate["import"]),
        (f"raw {'COPY csv' if pg else 'executemany'} into a bare table", bare_s, rate["bare"]),
        (f"raw {'COPY' if pg else 'executemany'} of resolved rows into deliveries_delivery", table_s, rate["table"]),
    ]
    for label, seconds, per_second in rows:
        print(f"{label:<58} {seconds:8.2f} s {per_second:12,.0f} rows/s")
    print(f"ratio import / bare table  : {rate['import'] / rate['bare']:.2f}")
    print(f"ratio import / delivery table: {rate['import'] / rate['table']:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.exit(main())
