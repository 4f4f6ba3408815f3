import pytest
from django.db import connection


def _empty_the_engine() -> None:
    """procrastinate's tables are not Django's to flush between tests: empty them around each engine test."""
    if connection.vendor != "postgresql" or "procrastinate_jobs" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_events CASCADE")


@pytest.fixture(autouse=True)
def empty_engine(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _empty_the_engine()
    yield
    with django_db_blocker.unblock():
        _empty_the_engine()
