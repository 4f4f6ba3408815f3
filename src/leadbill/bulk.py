"""Bulk inserts for the rows an invoice run writes by the ten thousand.

Django's `bulk_create` compiles and adapts every value of every object in Python
(2.2 s for 10,000 invoices, measured in benchmarks/invoice_run.py). On PostgreSQL this
reserves the primary keys from the table's sequence and streams the rows with COPY;
elsewhere it falls back to `bulk_create`. Either way the objects come back with their
primary keys set, so callers can link child rows to them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


def bulk_insert[M: models.Model](objs: Sequence[M]) -> Sequence[M]:
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now_fields = [f for f in fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)]
    # The wrapper itself, not the `connection` proxy: each value's preparation reads the connection's
    # operations, and through the proxy every read is a context-local lookup (0.7 s of a 10,000-invoice issue).
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(db.ops.quote_name(f.column) for f in [meta.pk, *fields])
        with cursor.cursor.copy(f"COPY {db.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj, pk in zip(objs, ids, strict=True):
                obj.pk = pk
                for field in now_fields:
                    field.pre_save(obj, add=True)
                copy.write_row([pk, *(f.get_db_prep_save(getattr(obj, f.attname), db) for f in fields)])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"
    return objs


def copy_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Insert plain rows into a table of the current connection (a run's temp tables): COPY on PostgreSQL.

    Why: `executemany` is a round trip per row on PostgreSQL (1.1 s for the 20,000 line bands
    of a 10,000-partner issue, measured in benchmarks/invoice_run.py); COPY streams them.
    `table` and `columns` are the caller's own identifiers, never user text.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def bulk_set(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Set `columns` of many rows, each given as (pk, value, value, ...), in one statement per 500 rows.

    Why: Django's `bulk_update` compiles a CASE per column and row (3.3 s for 3,000 invoices,
    measured in benchmarks/bank_statement.py). This is `UPDATE … FROM (VALUES …)`, which
    PostgreSQL and SQLite (3.33+) both run as a join.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [meta.get_field(c).column for c in columns]
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = ", ".join("(" + ", ".join(["%s"] * (len(names) + 1)) + ")" for _ in chunk)
        assignments = ", ".join(f"{quote(n)} = v.{quote(n)}" for n in names)
        columns_sql = ", ".join([quote("id"), *(quote(n) for n in names)])
        sql = (f"WITH v({columns_sql}) AS (VALUES {values}) "
               f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(meta.pk.column)} = v.{quote('id')}")  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])
