"""Bulk inserts for the rows an invoice run writes by the ten thousand.

Django's `bulk_create` compiles and adapts every value of every object in Python
(2.2 s for 10,000 invoices, measured in benchmarks/invoice_run.py). On PostgreSQL this
reserves the primary keys from the table's sequence and streams the rows with COPY;
elsewhere it falls back to `bulk_create`. Either way the objects come back with their
primary keys set, so callers can link child rows to them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def bulk_insert[M: models.Model](objs: Sequence[M]) -> Sequence[M]:
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now_fields = [f for f in fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in [meta.pk, *fields])
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj, pk in zip(objs, ids, strict=True):
                obj.pk = pk
                for field in now_fields:
                    field.pre_save(obj, add=True)
                copy.write_row([pk, *(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"
    return objs
