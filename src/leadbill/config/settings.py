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
    "django.contrib.staticfiles",
    "ninja",  # its Swagger UI files, served from the package (no CDN)
    "leadbill.audit",
    "leadbill.entities",
    "leadbill.partners",
    "leadbill.catalog",
    "leadbill.deliveries",
    "leadbill.invoicing",
    "leadbill.documents",
    "leadbill.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None  # WhiteNoise serves the packages' files via finders
WHITENOISE_USE_FINDERS = True  # serve the packages' static files without a collectstatic step
WSGI_APPLICATION = "leadbill.config.wsgi.application"
# A batch of 10,000 deliveries is about 3 MB of JSON; the API refuses more rows by count.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("LEADBILL_MAX_BODY_BYTES", 16 * 1024 * 1024))
APPEND_SLASH = False
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
