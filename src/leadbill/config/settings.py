"""Settings from the environment; the embedded default is a SQLite file.

DATABASE_URL   postgres://user@127.0.0.1:5432/db or sqlite:///path (default: ./leadbill.sqlite3)
SECRET_KEY     required when DEBUG is off
DEBUG          1 / 0
LEADBILL_HOME  folder for the SQLite file and generated documents (default: current dir)
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


HOME = Path(os.environ.get("LEADBILL_HOME", Path.cwd()))
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "leadbill-embedded-default-key-change-me-in-production")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{HOME / 'leadbill.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
    # deadlocking on a lock upgrade; WAL lets readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "leadbill.audit",
    "leadbill.entities",
    "leadbill.partners",
    "leadbill.catalog",
    "leadbill.deliveries",
    "leadbill.invoicing",
    "leadbill.documents",
]

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "leadbill.config.urls"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
OUTPUT_DIR = Path(os.environ.get("LEADBILL_OUTPUT", HOME / "output"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
