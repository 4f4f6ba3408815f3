"""A deadlock PostgreSQL detects itself, on the test's own connection, for tests of what contention does.

Another connection takes row 2 then row 1 of a small table while this one takes row 1 then row 2;
this side checks for deadlocks after 2 s, the other after 10 s, so PostgreSQL aborts this side's
transaction with a real `DeadlockDetected` (SQLSTATE 40P01), as it would a run meeting an import.
"""

import threading
import time

import psycopg
from django.db import OperationalError, connection, transaction

TABLE = "lb_test_locks"


def pg_params() -> dict:
    s = connection.settings_dict
    return {"host": s["HOST"] or "127.0.0.1", "port": s["PORT"] or 5432, "user": s["USER"] or "postgres",
            "dbname": s["NAME"]}  # fmt: skip


def prepare() -> None:
    """The two rows, committed, so the other connection sees them (call outside any transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id int PRIMARY KEY)")
        cursor.execute(f"INSERT INTO {TABLE} VALUES (1), (2) ON CONFLICT DO NOTHING")


def deadlock_here() -> None:
    """Lose a deadlock inside the current transaction: raises Django's OperationalError, the transaction aborted."""
    holding, waiting = threading.Event(), threading.Event()

    def other_side():
        with psycopg.connect(**pg_params()) as other:
            other.execute("SET deadlock_timeout = '10s'")  # so that PostgreSQL picks the test's side
            other.execute(f"SELECT 1 FROM {TABLE} WHERE id = 2 FOR UPDATE")
            holding.set()
            waiting.wait(10)
            time.sleep(0.2)  # the test's side is waiting for row 2 by now, and checks for a deadlock at 2 s
            other.execute(f"SELECT 1 FROM {TABLE} WHERE id = 1 FOR UPDATE")

    side = threading.Thread(target=other_side)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL deadlock_timeout = '2s'")
            cursor.execute(f"SELECT 1 FROM {TABLE} WHERE id = 1 FOR UPDATE")
            side.start()
            assert holding.wait(10)
            waiting.set()
            cursor.execute(f"SELECT 1 FROM {TABLE} WHERE id = 2 FOR UPDATE")
    finally:
        if side.ident is not None:
            side.join(20)
    raise AssertionError("PostgreSQL detected no deadlock")


def a_real_deadlock() -> OperationalError:
    """The error of a deadlock lost in a transaction of its own."""
    prepare()
    try:
        with transaction.atomic():
            deadlock_here()
    except OperationalError as exc:
        return exc
    raise AssertionError("unreachable")
