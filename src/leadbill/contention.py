"""Whether a database error was contention: a moment's refusal that the same work may simply retry.

PostgreSQL fails one transaction of a deadlock (40P01), a serialization failure (40001) or a
lock it could not take (55P03); SQLite reports a locked or busy file. The transaction was
rolled back whole, so work that is safe to repeat (an idempotent API batch, any background
task) may be done again. Anything else (a missing table, a full disk, a constraint) is not
cured by trying again and must surface as the failure it is.
"""

from __future__ import annotations

from django.db import OperationalError

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def transient(exc: BaseException) -> bool:
    """Whether `exc` is the database refusing for a moment (contention), not for good."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return str(cause if cause is not None else exc).startswith(("database is locked", "database table is locked"))
