import os

import pytest


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']} ({os.environ.get('DATABASE_URL', 'sqlite default')})"


@pytest.fixture
def is_postgres():
    from django.db import connection

    return connection.vendor == "postgresql"


def pytest_sessionstart(session):
    """With LEADBILL_REQUIRE_POSTGRES set (CI), running on anything else is an error, never a skip."""
    if os.environ.get("LEADBILL_REQUIRE_POSTGRES"):
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            pytest.exit(f"LEADBILL_REQUIRE_POSTGRES is set but the database is {engine}", returncode=3)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests sign people in often; the production hasher's 1M iterations would dominate them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen(monkeypatch):
    """Freeze the clock Leadbill reads (`django.utils.timezone.now`): `frozen(datetime)` sets it."""
    from django.utils import timezone

    def freeze(at):
        monkeypatch.setattr(timezone, "now", lambda: at)
        return at

    return freeze
