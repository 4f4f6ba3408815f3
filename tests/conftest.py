import os

import pytest


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']} ({os.environ.get('DATABASE_URL', 'sqlite default')})"


@pytest.fixture
def is_postgres():
    from django.db import connection

    return connection.vendor == "postgresql"
