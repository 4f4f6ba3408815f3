"""Benchmark: monthly declarative partitioning of deliveries and billed leads, against plain tables (PostgreSQL).

    .venv/bin/python benchmarks/partitioning.py                          # 12 months x 1,000,000
    .venv/bin/python benchmarks/partitioning.py --months 12 --per-month 300000

Creates the scratch database `test_bench_partition` (dropped first) on 127.0.0.1:5432 as
user postgres, and drops it at the end unless --keep. No Django: two raw-SQL copies of
`deliveries_delivery` with the columns, indexes and partner foreign key of the model
(deliveries/models.py, migrations 0001 and 0003):

- plain: as Django creates it;
- partitioned: `PARTITION BY RANGE (delivered_at)`, one partition per month. PostgreSQL
  requires a partitioned table's primary key and unique constraints to include the
  partition key, so the primary key becomes (id, delivered_at) and the idempotency key
  UNIQUE (entity_id, external_id) becomes UNIQUE (entity_id, external_id, delivered_at):
  no longer unique per entity across months.

Both are filled with COPY from the same generated rows, one transaction per month (as
imports arrive), in delivery order, alternating between the tables month by month so both
share whatever else loads the machine. Then, each against the plain table in the same run
(ratio = partitioned / plain; < 1 means partitioning is faster or smaller): fill time,
sizes, a one-month GROUP BY partner (first run after the fill and warm), the run's own
look-back filter (invoicing/facts.py), point lookups by (entity, external_id) and by id,
VACUUM (ANALYZE) after updating 1 % of a month (the whole table, and the changed partition
alone as autovacuum would do it), what each table does with a delivery resent with another
month's delivered_at, and retiring the oldest month
(DETACH + DROP PARTITION against DELETE + VACUUM).

The same for a billed-lead-like table (delivery_id, invoice_id, line_id, amount_minor,
voided) holding one row per delivery of every month but the last: BilledLead has no time
column, so the partitioned copy carries the delivery's delivered_at (denormalised) as its
partition key, and its "billed once" partial unique index becomes
(delivery_id, delivered_at) WHERE NOT voided.

"Cold" is the first run on a fresh connection of a month no query has read yet: not in
shared_buffers (128 MB, smaller than one month), possibly in the OS page cache (not
dropped: the machine is shared). "Warm" is the median of five runs. Autovacuum is off
on the development server, so the script runs VACUUM (ANALYZE) itself after the fill.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

DATABASE = "test_bench_partition"
SERVER = "host=127.0.0.1 port=5432 user=postgres"
START = datetime(2026, 1, 1, tzinfo=UTC)
PARTNERS = 10_000
LOOKUPS = 2_000
WORK_MEM = "256MB"  # what invoicing.facts.tune_for_run sets for a run

# deliveries_delivery as migrations 0001 and 0003 create it (`manage sqlmigrate deliveries`).
DELIVERY_COLUMNS = (
    "id bigint NOT NULL{identity}, external_id varchar(120) NOT NULL, lead_id varchar(120) NOT NULL, "
    "delivered_at timestamp with time zone NOT NULL, price_micros bigint NULL, currency varchar(3) NOT NULL, "
    "fields jsonb NOT NULL, cost_micros bigint NULL, created_at timestamp with time zone NOT NULL, "
    "entity_id bigint NOT NULL, lead_type_id bigint NOT NULL, partner_id bigint NOT NULL, "
    "profile_id bigint NULL, source_id bigint NULL"
)
COPY_COLUMNS = (
    "id, external_id, lead_id, delivered_at, price_micros, currency, fields, cost_micros, created_at, "
    "entity_id, lead_type_id, partner_id, profile_id, source_id"
)
BILLED_COPY_COLUMNS = "id, delivery_id, invoice_id, line_id, amount_minor, voided"


def month_start(m: int) -> datetime:
    return START.replace(year=START.year + m // 12, month=m % 12 + 1)


def part_name(table: str, m: int) -> str:
    return f"{table}_{month_start(m):%Y_%m}"


def connect(autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(f"{SERVER} dbname={DATABASE}", autocommit=autocommit)


def fresh_database() -> None:
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def drop_database() -> None:
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# -- schema -----------------------------------------------------------------------------------


def create_schema(conn: psycopg.Connection, months: int) -> None:
    conn.execute("CREATE TABLE bench_partner (id bigint PRIMARY KEY)")
    conn.execute(f"INSERT INTO bench_partner SELECT generate_series(1, {PARTNERS + 1})")
    fk = "FOREIGN KEY (partner_id) REFERENCES bench_partner (id) DEFERRABLE INITIALLY DEFERRED"

    # Plain: exactly the Django DDL.
    conn.execute(
        f"CREATE TABLE d_plain ({DELIVERY_COLUMNS.format(identity=' PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY')})"
    )
    conn.execute("ALTER TABLE d_plain ADD CONSTRAINT d_plain_external_id_unique UNIQUE (entity_id, external_id)")
    conn.execute(f"ALTER TABLE d_plain ADD CONSTRAINT d_plain_partner_fk {fk}")

    # Partitioned: the same, with the partition key added to the primary key and unique constraint.
    conn.execute(
        f"CREATE TABLE d_part ({DELIVERY_COLUMNS.format(identity=' GENERATED BY DEFAULT AS IDENTITY')}, "
        "PRIMARY KEY (id, delivered_at)) PARTITION BY RANGE (delivered_at)"
    )
    conn.execute(
        "ALTER TABLE d_part ADD CONSTRAINT d_part_external_id_unique UNIQUE (entity_id, external_id, delivered_at)"
    )
    conn.execute(f"ALTER TABLE d_part ADD CONSTRAINT d_part_partner_fk {fk}")
    for table in ("d_plain", "d_part"):
        conn.execute(f"CREATE INDEX {table}_partner_time ON {table} (partner_id, delivered_at)")
        conn.execute(f"CREATE INDEX {table}_entity_time ON {table} (entity_id, delivered_at)")
        conn.execute(f"CREATE INDEX {table}_lead_id ON {table} (entity_id, lead_id)")
        conn.execute(f"CREATE INDEX {table}_source_id ON {table} (source_id)")

    # BilledLead (invoicing migration 0001): no foreign keys in the database, an index on invoice_id,
    # the partial unique index that forbids billing a lead twice.
    conn.execute(
        "CREATE TABLE b_plain (id bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, "
        "amount_minor bigint NOT NULL, voided boolean NOT NULL, delivery_id bigint NOT NULL, "
        "invoice_id bigint NOT NULL, line_id bigint NOT NULL)"
    )
    conn.execute("CREATE UNIQUE INDEX b_plain_billed_once ON b_plain (delivery_id) WHERE voided = false")
    conn.execute(
        "CREATE TABLE b_part (id bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY, "
        "amount_minor bigint NOT NULL, voided boolean NOT NULL, delivery_id bigint NOT NULL, "
        "invoice_id bigint NOT NULL, line_id bigint NOT NULL, delivered_at timestamp with time zone NOT NULL, "
        "PRIMARY KEY (id, delivered_at)) PARTITION BY RANGE (delivered_at)"
    )
    conn.execute("CREATE UNIQUE INDEX b_part_billed_once ON b_part (delivery_id, delivered_at) WHERE voided = false")
    for table in ("b_plain", "b_part"):
        conn.execute(f"CREATE INDEX {table}_invoice_id ON {table} (invoice_id)")

    for table in ("d_part", "b_part"):
        for m in range(months):
            conn.execute(
                f"CREATE TABLE {part_name(table, m)} PARTITION OF {table} "
                f"FOR VALUES FROM ('{month_start(m).isoformat()}') TO ('{month_start(m + 1).isoformat()}')"
            )


# -- data -------------------------------------------------------------------------------------


def delivery_rows_sql(m: int, per_month: int) -> str:
    """Month m's deliveries, deterministic (hashes of the row number), evenly spread over the month."""
    first = m * per_month + 1
    return f"""
        SELECT i, 'D' || lpad(i::text, 10, '0'), 'lead-' || abs(hashint8extended(i, 2)),
               s + (e - s) * ((i - {first})::float8 / {per_month}),
               (ARRAY[1500000, 2000000, 2125000, 3000000, 750000])[1 + abs(hashint8extended(i, 3)) % 5],
               'EUR',
               json_build_object('zip', lpad((abs(hashint8extended(i, 4)) % 100000)::text, 5, '0'),
                                 'state', (ARRAY['CA', 'NY', 'TX'])[1 + abs(hashint8extended(i, 5)) % 3]),
               CASE WHEN i % 2 = 0 THEN 400000 END,
               s + (e - s) * ((i - {first})::float8 / {per_month}) + (i % 600) * interval '1 second',
               1, 1 + i % 3, p, CASE WHEN i % 3 <> 0 THEN p * 3 + i % 3 END,
               CASE WHEN i % 2 = 0 THEN {PARTNERS + 1} END
          FROM generate_series({first}, {first + per_month - 1}) i,
               LATERAL (SELECT 1 + abs(hashint8extended(i, 1)) % {PARTNERS} AS p) h,
               (SELECT timestamptz '{month_start(m).isoformat()}' AS s,
                       timestamptz '{month_start(m + 1).isoformat()}' AS e) b
    """


def write_month_files(conn: psycopg.Connection, months: int, per_month: int, folder: Path) -> list[Path]:
    """The rows, generated once and written as COPY text files, so both tables load the same bytes."""
    paths = []
    for m in range(months):
        path = folder / f"deliveries_{m:02d}.copy"
        sql = delivery_rows_sql(m, per_month)
        with path.open("wb") as out, conn.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
            for chunk in copy:
                out.write(chunk)
        paths.append(path)
    return paths


def write_billed_files(conn: psycopg.Connection, months: int, folder: Path) -> tuple[list[Path], list[Path]]:
    """One billed lead per delivery of every month but the last (the month a run would bill next):
    invoice per partner and month, line per lead type, the price in cents. Two files a month:
    the billed-lead columns, and the same rows with the delivery's delivered_at (partition key)."""
    plain, part = [], []
    for m in range(months - 1):
        for paths, extra in ((plain, ""), (part, ", delivered_at")):
            path = folder / f"billed_{m:02d}{extra and '_at'}.copy"
            sql = f"""SELECT id, id, partner_id * 100 + {m}, (partner_id * 100 + {m}) * 10 + lead_type_id,
                             price_micros / 10000, false{extra}
                        FROM d_plain WHERE delivered_at >= '{month_start(m).isoformat()}'
                                       AND delivered_at < '{month_start(m + 1).isoformat()}' ORDER BY id"""
            with path.open("wb") as out, conn.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for chunk in copy:
                    out.write(chunk)
            paths.append(path)
    return plain, part


def fill(loads: list[tuple[str, str, list[Path]]]) -> dict[str, float]:
    """COPY month by month, each month in its own transaction (one import per month), alternating
    between the tables so both see the same load from whatever else runs on the machine.

    `loads` is (table, columns, one file per month); returns the total seconds per table.
    """
    totals = dict.fromkeys((table for table, _, _ in loads), 0.0)
    conns = {table: connect(autocommit=False) for table, _, _ in loads}
    try:
        for m in range(len(loads[0][2])):
            for table, columns, paths in loads if m % 2 == 0 else reversed(loads):
                conn = conns[table]
                start = time.perf_counter()
                sql = f"COPY {table} ({columns}) FROM STDIN"
                with conn.cursor() as cursor, cursor.copy(sql) as copy, paths[m].open("rb") as source:
                    while data := source.read(1 << 20):
                        copy.write(data)
                conn.commit()
                totals[table] += time.perf_counter() - start
    finally:
        for conn in conns.values():
            conn.close()
    return totals


# -- measuring --------------------------------------------------------------------------------


def leaves(conn: psycopg.Connection, relation: str) -> list[str]:
    """The leaf relations of a partitioned table or index; a plain one is its own leaf."""
    rows = conn.execute("SELECT relid::text FROM pg_partition_tree(%s) WHERE isleaf", [relation]).fetchall()
    return [r[0] for r in rows] or [relation]


def sizes(conn: psycopg.Connection, table: str, indexes: list[str]) -> dict[str, int]:
    """Heap, all indexes, total, and each index, summed over the partitions."""
    out: dict[str, int] = {}
    parts = leaves(conn, table)
    out["heap"] = sum(conn.execute("SELECT pg_relation_size(%s)", [p]).fetchone()[0] for p in parts)
    out["indexes"] = sum(conn.execute("SELECT pg_indexes_size(%s)", [p]).fetchone()[0] for p in parts)
    out["total"] = sum(conn.execute("SELECT pg_total_relation_size(%s)", [p]).fetchone()[0] for p in parts)
    for index in indexes:
        out[index] = sum(conn.execute("SELECT pg_relation_size(%s)", [p]).fetchone()[0] for p in leaves(conn, index))
    return out


def plan_shape(conn: psycopg.Connection, sql: str, params: list[object] | None = None) -> str:
    """The plan's node types, outermost first, deduplicated (e.g. 'Aggregate > Append > Seq Scan')."""
    plan = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()[0][0]["Plan"]
    nodes: list[str] = []

    def walk(node: dict) -> None:  # type: ignore[type-arg]
        name = node["Node Type"]
        if node.get("Strategy") in ("Hashed", "Sorted") and name == "Aggregate":
            name = f"{node['Strategy']}Aggregate"
        if node.get("Join Type") not in (None, "Inner"):
            name = f"{name} ({node['Join Type']})"
        if name not in nodes:
            nodes.append(name)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return " > ".join(nodes)


def query_times(sql: str, params: list[object] | None = None, runs: int = 5) -> tuple[float, float]:
    """(first run on a fresh connection, median of `runs` more)."""
    with connect() as conn:
        conn.execute(f"SET work_mem = '{WORK_MEM}'")
        first = timed(lambda: conn.execute(sql, params).fetchall())
        warm = statistics.median(timed(lambda: conn.execute(sql, params).fetchall()) for _ in range(runs))
    return first, warm


def lookups(sql: str, keys: list[object]) -> float:
    """Microseconds per single-row lookup, one prepared statement per key, as an application does them."""
    with connect() as conn:
        for key in keys[:50]:  # prepare and settle on a plan
            conn.execute(sql, [key], prepare=True).fetchall()
        start = time.perf_counter()
        for key in keys:
            rows = conn.execute(sql, [key], prepare=True).fetchall()
            assert len(rows) == 1, (sql, key, rows)
        return (time.perf_counter() - start) / len(keys) * 1e6


def idempotency(conn: psycopg.Connection, months: int, per_month: int) -> str:
    """What each table does with delivery D..1 sent again a month later (rolled back)."""
    resend = (
        "INSERT INTO {t} ({c}) SELECT {n}, external_id, lead_id, delivered_at + interval '1 month', price_micros, "
        "currency, fields, cost_micros, created_at, entity_id, lead_type_id, partner_id, profile_id, source_id "
        "FROM {t} WHERE id = 1 ON CONFLICT {target} DO NOTHING"
    )
    said = []
    for table in ("d_plain", "d_part"):
        for target in ("(entity_id, external_id)", ""):
            with conn.transaction(force_rollback=True):
                try:
                    sql = resend.format(t=table, c=COPY_COLUMNS, n=months * per_month + 1, target=target)
                    outcome = f"{conn.execute(sql).rowcount} row inserted"
                except psycopg.Error as error:
                    outcome = f"error: {error.diag.message_primary}"
            said.append(f"{table} ON CONFLICT {target or '(any)'} DO NOTHING → {outcome}")
    return "; ".join(said)


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, label: str, plain: float, part: float, unit: str = "s") -> None:
        ratio = f"{part / plain:.2f}×" if plain else "-"
        row = (label, fmt(plain, unit), fmt(part, unit), ratio)
        self.rows.append(row)
        print(f"  {label:<58} {row[1]:>12} {row[2]:>12} {ratio:>8}", flush=True)

    def note(self, text: str) -> None:
        self.rows.append((text, "", "", ""))
        print(f"  {text}", flush=True)

    def markdown(self) -> str:
        lines = ["| measurement | plain | partitioned | ratio |", "|---|---:|---:|---:|"]
        for label, plain, part, ratio in self.rows:
            lines.append(f"| {label} | {plain} | {part} | {ratio} |")
        return "\n".join(lines)


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value / 1e6:,.0f} MB"
    if unit == "µs":
        return f"{value:.0f} µs"
    return f"{value:,.0f}"


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--per-month", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    months, per_month = args.months, args.per_month
    if months < 5:
        raise SystemExit("--months must be at least 5 (the run's look-back is 92 days)")
    total_rows = months * per_month
    began = time.perf_counter()
    print(f"{months} months × {per_month:,} deliveries = {total_rows:,} rows; {load()}", flush=True)
    report = Report()
    print(f"  {'':<58} {'plain':>12} {'partitioned':>12} {'ratio':>8}")

    fresh_database()
    with connect() as conn:
        create_schema(conn, months)
    folder = Path(tempfile.mkdtemp(prefix="bench_partition_"))
    try:
        with connect() as conn:
            gen = timed(lambda: write_month_files(conn, months, per_month, folder))
            paths = sorted(folder.glob("deliveries_*.copy"))
        print(f"  (generated {total_rows:,} rows in {gen:.1f} s)", flush=True)

        # 1. Fill, one COPY transaction per month, in delivery order.
        filled = fill([("d_plain", COPY_COLUMNS, paths), ("d_part", COPY_COLUMNS, paths)])
        plain_fill, part_fill = filled["d_plain"], filled["d_part"]
        with connect() as conn:
            conn.execute("CHECKPOINT")
        report.add(f"fill: COPY {total_rows:,} deliveries, a transaction a month", plain_fill, part_fill)
        with connect() as conn:
            plain_vac = timed(lambda: conn.execute("VACUUM (ANALYZE) d_plain"))
            part_vac = timed(lambda: conn.execute("VACUUM (ANALYZE) d_part"))
        report.add("first VACUUM (ANALYZE) after the fill", plain_vac, part_vac)

        # 2. Sizes.
        with connect() as conn:
            suffixes = ["pkey", "external_id_unique", "partner_time", "entity_time", "lead_id", "source_id"]
            sp = sizes(conn, "d_plain", [f"d_plain_{s}" for s in suffixes])
            sq = sizes(conn, "d_part", [f"d_part_{s}" for s in suffixes])
        for key in ("heap", "indexes", "total"):
            report.add(f"size: {key}", sp[key], sq[key], "MB")
        for s in suffixes:
            report.add(f"size: index {s}", sp[f"d_plain_{s}"], sq[f"d_part_{s}"], "MB")
        with connect() as conn:
            biggest = max(
                conn.execute("SELECT pg_relation_size(%s)", [leaf]).fetchone()[0]
                for s in suffixes
                for leaf in leaves(conn, f"d_part_{s}")
            )
        report.add(
            "size: largest single index (partitioned: one partition's)",
            max(sp[f"d_plain_{s}"] for s in suffixes),
            biggest,
            "MB",
        )

        # 3. A one-month aggregate, cold-ish then warm: a month nobody has read yet.
        m = months // 2
        one_month = (
            "SELECT partner_id, count(*), sum(price_micros) FROM {t} WHERE entity_id = 1 "
            "AND delivered_at >= %s AND delivered_at < %s GROUP BY partner_id"
        )
        window = [month_start(m), month_start(m + 1)]
        plain_first, plain_warm = query_times(one_month.format(t="d_plain"), window)
        part_first, part_warm = query_times(one_month.format(t="d_part"), window)
        with connect() as conn:
            report.note(
                f"one month GROUP BY partner: plain {plan_shape(conn, one_month.format(t='d_plain'), window)}; "
                f"partitioned {plan_shape(conn, one_month.format(t='d_part'), window)}"
            )
        report.add(f"one month ({per_month:,} rows) GROUP BY partner, first run", plain_first, part_first)
        report.add(f"one month ({per_month:,} rows) GROUP BY partner, warm", plain_warm, part_warm)

        # 4. The run's own filter (facts.resolved_deliveries_sql): before the period end, and
        #    delivered within the 92-day look-back OR ingested within it. The OR on created_at
        #    leaves only the upper bound for pruning.
        period_start, period_end = month_start(months - 1), month_start(months)
        lookback = period_start - timedelta(days=92)
        run_filter = (
            "SELECT count(*) FROM {t} d WHERE d.entity_id = 1 AND d.delivered_at < %s "
            "AND (d.delivered_at >= %s OR d.created_at >= %s)"
        )
        params = [period_end, lookback, lookback]
        _, plain_run = query_times(run_filter.format(t="d_plain"), params, runs=3)
        _, part_run = query_times(run_filter.format(t="d_part"), params, runs=3)
        report.add("run filter as facts.py has it (delivered OR ingested in look-back)", plain_run, part_run)
        bounded = "SELECT count(*) FROM {t} d WHERE d.entity_id = 1 AND d.delivered_at >= %s AND d.delivered_at < %s"
        _, plain_bounded = query_times(bounded.format(t="d_plain"), [lookback, period_end], runs=3)
        _, part_bounded = query_times(bounded.format(t="d_part"), [lookback, period_end], runs=3)
        report.add("same, delivered_at bounded by the look-back only (hypothetical)", plain_bounded, part_bounded)
        with connect() as conn:
            report.note(
                f"run filter plans: plain {plan_shape(conn, run_filter.format(t='d_plain'), params)}; "
                f"partitioned {plan_shape(conn, run_filter.format(t='d_part'), params)}; bounded: plain "
                f"{plan_shape(conn, bounded.format(t='d_plain'), [lookback, period_end])}; partitioned "
                f"{plan_shape(conn, bounded.format(t='d_part'), [lookback, period_end])}"
            )

        # 5. Point lookups: by the idempotency key and by id (billed leads, returns, credited leads join on id).
        step = max(1, total_rows // LOOKUPS)
        ids = [1 + (i * step + i * 7919) % total_rows for i in range(LOOKUPS)]
        external = [f"D{i:010d}" for i in ids]
        by_key = "SELECT id FROM {t} WHERE entity_id = 1 AND external_id = %s"
        by_id = "SELECT external_id FROM {t} WHERE id = %s"
        report.add(
            f"lookup by (entity, external_id), {LOOKUPS:,} single queries, each",
            lookups(by_key.format(t="d_plain"), external),
            lookups(by_key.format(t="d_part"), external),
            "µs",
        )
        report.add(
            "lookup by id, each",
            lookups(by_id.format(t="d_plain"), ids),
            lookups(by_id.format(t="d_part"), ids),
            "µs",
        )

        # The idempotency key: a delivery sent again with another delivery time.
        with connect() as conn:
            report.note("idempotency: " + idempotency(conn, months, per_month))

        # 6. Billed leads: every month but the last billed, one row per delivery.
        with connect() as conn:
            bplain, bpart = write_billed_files(conn, months, folder)
        filled = fill(
            [("b_plain", BILLED_COPY_COLUMNS, bplain), ("b_part", BILLED_COPY_COLUMNS + ", delivered_at", bpart)]
        )
        b_plain_fill, b_part_fill = filled["b_plain"], filled["b_part"]
        billed_rows = (months - 1) * per_month
        report.add(f"billed leads: fill, COPY {billed_rows:,} rows", b_plain_fill, b_part_fill)
        with connect() as conn:
            conn.execute("CHECKPOINT")
            report.add(
                "billed leads: first VACUUM (ANALYZE)",
                timed(lambda: conn.execute("VACUUM (ANALYZE) b_plain")),
                timed(lambda: conn.execute("VACUUM (ANALYZE) b_part")),
            )
            bsuf = ["pkey", "billed_once", "invoice_id"]
            bp = sizes(conn, "b_plain", [f"b_plain_{s}" for s in bsuf])
            bq = sizes(conn, "b_part", [f"b_part_{s}" for s in bsuf])
        for key in ("heap", "indexes", "total"):
            report.add(f"billed leads: size {key}", bp[key], bq[key], "MB")
        # The run's anti-join: deliveries of the look-back window and the period not yet billed.
        anti = (
            "SELECT count(*) FROM {d} d WHERE d.entity_id = 1 AND d.delivered_at >= %s AND d.delivered_at < %s "
            "AND NOT EXISTS (SELECT 1 FROM {b} b WHERE b.delivery_id = d.id AND b.voided = false{extra})"
        )
        aparams = [lookback, period_end]
        _, anti_plain = query_times(anti.format(d="d_plain", b="b_plain", extra=""), aparams, runs=3)
        _, anti_part = query_times(anti.format(d="d_part", b="b_part", extra=""), aparams, runs=3)
        pruned_sql = anti.format(
            d="d_part", b="b_part", extra=" AND b.delivered_at >= %s AND b.delivered_at = d.delivered_at"
        )
        _, anti_pruned = query_times(pruned_sql, [*aparams, lookback], runs=3)
        report.add("anti-join unbilled deliveries in look-back + period, by delivery_id", anti_plain, anti_part)
        report.add("same, partitioned billed leads also matched on delivered_at", anti_plain, anti_pruned)
        with connect() as conn:
            report.note(
                "anti-join plans: plain "
                + plan_shape(conn, anti.format(d="d_plain", b="b_plain", extra=""), aparams)
                + "; partitioned "
                + plan_shape(conn, anti.format(d="d_part", b="b_part", extra=""), aparams)
                + "; matched on delivered_at "
                + plan_shape(conn, pruned_sql, [*aparams, lookback])
            )

        # 7. VACUUM (ANALYZE) after updating 1 % of a month: the last month, then the month before
        #    it (pages still full, so neither update can be HOT). After the first, both whole
        #    tables; after the second, the plain table against the one changed partition (what
        #    autovacuum does: it works per partition, and never analyzes the partitioned parent).
        last = months - 1
        upd = (
            "UPDATE {t} SET price_micros = price_micros + 1 WHERE entity_id = 1 "
            "AND delivered_at >= %s AND delivered_at < %s AND id %% 100 = 0"
        )
        void = (
            "UPDATE {t} SET voided = true WHERE delivery_id BETWEEN %s AND %s AND delivery_id %% 100 = 0"
            " AND voided = false"
        )
        with connect() as conn:
            for m, whole in ((last, True), (last - 1, False)):
                span = [month_start(m), month_start(m + 1)]
                plain_upd = timed(lambda s=span: conn.execute(upd.format(t="d_plain"), s))
                part_upd = timed(lambda s=span: conn.execute(upd.format(t="d_part"), s))
                target = "d_part" if whole else part_name("d_part", m)
                report.add(
                    f"update 1 % of month {m + 1} ({per_month // 100:,} rows)" + ("" if whole else ", again"),
                    plain_upd,
                    part_upd,
                )
                report.add(
                    "then VACUUM (ANALYZE) of the whole table"
                    if whole
                    else "then VACUUM (ANALYZE): whole plain table vs the changed partition only",
                    timed(lambda: conn.execute("VACUUM (ANALYZE) d_plain")),
                    timed(lambda t=target: conn.execute(f"VACUUM (ANALYZE) {t}")),
                )
            # Billed leads: void 1 % of the last billed month, then of the month before (the partial
            # unique index's predicate column changes, so these updates are never HOT).
            for m, whole in ((last - 1, True), (last - 2, False)):
                ids = [m * per_month + 1, (m + 1) * per_month]
                conn.execute(void.format(t="b_plain"), ids)
                conn.execute(void.format(t="b_part") + " AND delivered_at >= %s AND delivered_at < %s",
                             [*ids, month_start(m), month_start(m + 1)])  # fmt: skip
                target = "b_part" if whole else part_name("b_part", m)
                report.add(
                    f"billed leads: void 1 % of month {m + 1}, VACUUM (ANALYZE) "
                    + ("of the whole table" if whole else "whole plain table vs the changed partition"),
                    timed(lambda: conn.execute("VACUUM (ANALYZE) b_plain")),
                    timed(lambda t=target: conn.execute(f"VACUUM (ANALYZE) {t}")),
                )

        # 8. Retire the oldest month: DETACH + DROP PARTITION against DELETE + VACUUM.
        cut = month_start(1)
        with connect() as conn:
            delete = timed(lambda: conn.execute("DELETE FROM d_plain WHERE delivered_at < %s", [cut]))
            vacuum = timed(lambda: conn.execute("VACUUM d_plain"))
            detach = timed(lambda: conn.execute(f"ALTER TABLE d_part DETACH PARTITION {part_name('d_part', 0)}"))
            drop = timed(lambda: conn.execute(f"DROP TABLE {part_name('d_part', 0)}"))
            report.add(f"oldest month ({per_month:,} rows): DELETE vs DETACH PARTITION", delete, detach)
            report.add("then VACUUM vs DROP TABLE", vacuum, drop)
            report.add("retire the oldest month, together", delete + vacuum, detach + drop)
            after_plain = sizes(conn, "d_plain", [])["total"]
            after_part = sizes(conn, "d_part", [])["total"]
            report.add("size on disk after retiring it (total)", after_plain, after_part, "MB")
            bdelete = timed(lambda: conn.execute("DELETE FROM b_plain WHERE delivery_id <= %s", [per_month]))
            bvacuum = timed(lambda: conn.execute("VACUUM b_plain"))
            bdetach = timed(lambda: conn.execute(f"ALTER TABLE b_part DETACH PARTITION {part_name('b_part', 0)}"))
            bdrop = timed(lambda: conn.execute(f"DROP TABLE {part_name('b_part', 0)}"))
            report.add("billed leads: retire the oldest month (DELETE + VACUUM vs DETACH + DROP)", bdelete + bvacuum,
                       bdetach + bdrop)  # fmt: skip
    finally:
        for path in folder.glob("*.copy"):
            path.unlink()
        folder.rmdir()
        if not args.keep:
            drop_database()
    print(f"\ndone in {time.perf_counter() - began:.0f} s; {load()}\n")
    print(report.markdown())


if __name__ == "__main__":
    main()
