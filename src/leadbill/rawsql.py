"""Values the project's hand-written SQL spells the same way on PostgreSQL and SQLite.

The invoice run, the billing summary and the invoice report write set-based SQL by hand; these
are their one spelling of a boolean literal and of a timestamp parameter.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection


def db_datetime(value: datetime) -> object:
    """A timestamp parameter as its column is stored: SQLite compares text, so an aware datetime
    would be written '... 05:00:00+00:00' against a stored '... 05:00:00' and miss at both bounds."""
    return connection.ops.adapt_datetimefield_value(value)


def sql_false() -> str:
    return "false" if connection.vendor == "postgresql" else "0"


def sql_true() -> str:
    return "true" if connection.vendor == "postgresql" else "1"
