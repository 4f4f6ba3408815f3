"""Settings from the environment; the embedded default is a SQLite file.

DATABASE_URL   postgres://user@127.0.0.1:5432/db or sqlite:///path (default: ./leadbill.sqlite3)
SECRET_KEY     signs sessions, messages and password/invitation links; the same for every process.
               Unset with the embedded default (no DATABASE_URL): a random key kept in
               $LEADBILL_HOME/secret_key (mode 0600), made once the home's database exists.
               Unset with DATABASE_URL: a random key per process (management commands and tests
               work), and `leadbill serve` refuses to start.
DEBUG          1 / 0
LEADBILL_HOME  folder for the SQLite file, its secret_key and generated documents (default: current dir)
LEADBILL_BASE_URL  the console's address, e.g. https://billing.example (links in emails)
LEADBILL_HTTPS     1 / 0 (default: 1 when LEADBILL_BASE_URL starts with https://): Secure cookies,
                   HSTS (LEADBILL_HSTS_SECONDS, default a year, with subdomains; LEADBILL_HSTS_PRELOAD),
                   http:// redirected to https:// (LEADBILL_SSL_REDIRECT=0 turns that off)
LEADBILL_LOG_FORMAT  text (default) / json: one JSON object a line with request_id and job_id
LEADBILL_METRICS_TOKEN  bearer token a Prometheus scraper sends to /metrics (unset: /metrics is off)
LEADBILL_PROXY_SSL_HEADER  e.g. X-Forwarded-Proto: a TLS-terminating proxy's header that says https
                   (only if the proxy always sets it; gunicorn already trusts it from 127.0.0.1)
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy


def env_whole(name: str, default: int, *, least: int = 0) -> int:
    """A whole number from the environment, through the one bounded reader; a bad value stops start-up by name."""
    from leadbill.domain.numbers import whole_number

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = whole_number(raw)
    if value is None or value < least:
        raise ImproperlyConfigured(f"{name}={raw!r}: give a whole number of at least {least} in ASCII digits")
    return value


def env_whole_list(name: str, default: list[int]) -> list[int]:
    """Comma-separated whole numbers from the environment (e.g. retry delays), each through `env_whole`'s reader."""
    from leadbill.domain.numbers import whole_number

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    values = [whole_number(part) for part in raw.split(",") if part.strip()]
    if not values or any(v is None for v in values):
        raise ImproperlyConfigured(f"{name}={raw!r}: give whole numbers separated by commas, such as 60,300,1800")
    return [v for v in values if v is not None]


def env_seconds(name: str, default: float) -> float:
    """Seconds from the environment (a whole or decimal number such as 0.5); a bad value stops start-up by name."""
    from leadbill.domain.numbers import digit_string

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    whole, _, fraction = raw.partition(".")  # each side through the one reader of digits from outside
    parts = [digit_string(part, max_digits=6) if part else "" for part in (whole, fraction)]
    if parts != [whole, fraction] or not (whole or fraction) or float(f"{whole or 0}.{fraction or 0}") <= 0:
        raise ImproperlyConfigured(f"{name}={raw!r}: give a positive number of seconds, such as 10 or 0.5")
    return float(f"{whole or 0}.{fraction or 0}")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


HOME = Path(os.environ.get("LEADBILL_HOME", Path.cwd()))
DEBUG = env_bool("DEBUG", False)
EMBEDDED_DATABASE = HOME / "leadbill.sqlite3"  # the database when DATABASE_URL is unset


def secret_key_file(path: Path) -> tuple[str, bool]:
    """The key kept in `path`, made (random, mode 0600) when there is none; and whether it was made now."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        pass
    else:
        if not key:
            raise ImproperlyConfigured(f"the secret key file {path} is empty: delete it (a new one is made) or fill it")
        return key, False
    key = secrets.token_urlsafe(50)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(key + "\n")
    try:
        os.link(draft, path)  # whole and at once; fails when another process made it first
    except FileExistsError:
        return secret_key_file(path)
    except OSError:  # a file system without hard links
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(key + "\n")
    finally:
        draft.unlink(missing_ok=True)
    print(f"leadbill: made a secret key for this home in {path} (kept there; SECRET_KEY overrides it)", file=sys.stderr)
    return key, True


_embedded_key: list[str] = []


def embedded_secret_key() -> str:
    """SECRET_KEY of the embedded default, read on first use: the home's key file, made if the home's database exists.

    A process that never signs anything reads nothing; one that has no database there yet (a
    command run in the wrong folder) or uses another one (the tests' database) leaves no file
    and signs with a key of its own.
    """
    if not _embedded_key:
        path = HOME / "secret_key"
        if path.exists():
            key = secret_key_file(path)[0]
        else:
            from django.db import connections

            in_use = str(connections["default"].settings_dict["NAME"]) == str(EMBEDDED_DATABASE)
            key = secret_key_file(path)[0] if in_use and EMBEDDED_DATABASE.exists() else secrets.token_urlsafe(50)
        _embedded_key.append(key)
    return _embedded_key[0]


# Where SECRET_KEY comes from: "env", "home" (the embedded default's key file) or "process" (a random
# key of this process: a server database without SECRET_KEY; `leadbill serve` refuses it).
if os.environ.get("SECRET_KEY"):
    SECRET_KEY = os.environ["SECRET_KEY"]
    LEADBILL_SECRET_KEY_SOURCE = "env"
elif not os.environ.get("DATABASE_URL"):
    SECRET_KEY = lazy(embedded_secret_key, str)()
    LEADBILL_SECRET_KEY_SOURCE = "home"
else:
    SECRET_KEY = secrets.token_urlsafe(50)
    LEADBILL_SECRET_KEY_SOURCE = "process"
LEADBILL_SECRET_KEY_FILE = HOME / "secret_key"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{EMBEDDED_DATABASE}",
        conn_max_age=env_whole("DB_CONN_MAX_AGE", 0),
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
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # its Swagger UI files, served from the package (no CDN)
    "leadbill.audit",
    "leadbill.entities",
    "leadbill.partners",
    "leadbill.catalog",
    "leadbill.deliveries",
    "leadbill.invoicing",
    "leadbill.receivables",
    "leadbill.documents",
    "leadbill.engine",
    "leadbill.mailing",
    "leadbill.webhooks",
    "leadbill.scheduling",
    "leadbill.payouts",
    "leadbill.selfbilling",
    "leadbill.books",
    "leadbill.payment_files",
    "leadbill.api",
    "leadbill.web",
    "leadbill.console",
    "leadbill.portal",
]
ON_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if ON_POSTGRESQL:  # the engine's tables (procrastinate_jobs, ...) come with its migrations; SQLite needs none
    INSTALLED_APPS.insert(INSTALLED_APPS.index("leadbill.engine"), "procrastinate.contrib.django")

MIDDLEWARE = [
    "leadbill.web.logs.RequestIdMiddleware",  # first: every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # the API's views are csrf-exempt (bearer keys, no cookies)
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadbill.web.context.roles",
            ]
        },
    }
]
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None  # WhiteNoise serves the packages' files via finders
WHITENOISE_USE_FINDERS = True  # serve the packages' static files without a collectstatic step
WSGI_APPLICATION = "leadbill.config.wsgi.application"
# A batch of 10,000 deliveries is about 3 MB of JSON; the API refuses more rows by count.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_whole("LEADBILL_MAX_BODY_BYTES", 16 * 1024 * 1024)
APPEND_SLASH = False

# --- web console and partner portal ---------------------------------------------------
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_AGE = env_whole("LEADBILL_SESSION_SECONDS", 12 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "SAMEORIGIN"  # the invoice page shows its own PDF in a frame
SECURE_CONTENT_TYPE_NOSNIFF = True
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600  # also how long an invitation link stays valid
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (leadbill.web.throttle): failures counted in the database, so every worker sees them.
LOGIN_FAILURES_PER_ACCOUNT = env_whole("LEADBILL_LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_whole("LEADBILL_LOGIN_FAILURES_PER_ADDRESS", 30)
LOGIN_FAILURE_WINDOW_SECONDS = env_whole("LEADBILL_LOGIN_FAILURE_WINDOW", 15 * 60)
# Password reset requests, counted the same way (every request, whether or not the account exists).
PASSWORD_RESETS_PER_ACCOUNT = env_whole("LEADBILL_PASSWORD_RESETS_PER_ACCOUNT", 3)
PASSWORD_RESETS_PER_ADDRESS = env_whole("LEADBILL_PASSWORD_RESETS_PER_ADDRESS", 10)
PASSWORD_RESET_WINDOW_SECONDS = env_whole("LEADBILL_PASSWORD_RESET_WINDOW", 3600)
# The invoice-run preview keeps each partner's draft between writes (leadbill.invoicing.kept), for at
# most this many seconds (0: never kept), and about this many partners' drafts per process (about 5 KB
# each), the least recently used entity-periods dropped first.
LEADBILL_KEEP_DRAFTS_SECONDS = env_whole("LEADBILL_KEEP_DRAFTS_SECONDS", 600)
LEADBILL_KEEP_DRAFTS_MAX = env_whole("LEADBILL_KEEP_DRAFTS_MAX", 40_000, least=1)
# Trust X-Forwarded-For only behind a proxy that sets it (the address login throttling counts).
LEADBILL_TRUST_FORWARDED_FOR = env_bool("LEADBILL_TRUST_FORWARDED_FOR", False)
LEADBILL_BASE_URL = os.environ.get("LEADBILL_BASE_URL", "http://127.0.0.1:8000")
# Served over HTTPS: cookies only over HTTPS, HSTS, and http:// redirected (see the top of this file).
LEADBILL_HTTPS = env_bool("LEADBILL_HTTPS", LEADBILL_BASE_URL.strip().lower().startswith("https://"))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool(
    "LEADBILL_SECURE_COOKIES", LEADBILL_HTTPS or (not DEBUG and bool(os.environ.get("SECRET_KEY")))
)
SECURE_HSTS_SECONDS = env_whole("LEADBILL_HSTS_SECONDS", 365 * 24 * 3600 if LEADBILL_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEADBILL_HSTS_INCLUDE_SUBDOMAINS", LEADBILL_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("LEADBILL_HSTS_PRELOAD", False)  # asking browsers to preload is the domain's call
SECURE_SSL_REDIRECT = env_bool("LEADBILL_SSL_REDIRECT", LEADBILL_HTTPS)
if os.environ.get("LEADBILL_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + os.environ["LEADBILL_PROXY_SSL_HEADER"].strip().upper().replace("-", "_"),
                               "https")  # fmt: skip
SILENCED_SYSTEM_CHECKS = [
    "security.W019",  # X_FRAME_OPTIONS is SAMEORIGIN on purpose: the invoice page frames its own PDF
    "security.W021",  # HSTS preload is opt-in (LEADBILL_HSTS_PRELOAD=1): a commitment for the whole domain
]

# Email: SMTP when EMAIL_HOST is set; otherwise each message is written as a file under
# $LEADBILL_HOME/mail (the embedded default), so invitations and resets can be read there.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = env_whole("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = env_whole("EMAIL_TIMEOUT", 30)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(HOME / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Leadbill <billing@localhost>")

# Background work through Django's task framework. LEADBILL_TASK_BACKEND:
#   inline    (default) each task runs as it is queued, in the process that queued it;
#   engine    procrastinate on PostgreSQL: a job is a row written in the transaction that queues it,
#             run by `leadbill worker` processes on any machine (leadbill.engine; needs DATABASE_URL postgres://).
# The code that queues work is the same for both. Which queue each task uses: leadbill/engine/queues.py.
TASK_BACKENDS = {
    "inline": "django.tasks.backends.immediate.ImmediateBackend",
    "engine": "leadbill.engine.backend.ProcrastinateBackend",
}
_task_backend = os.environ.get("LEADBILL_TASK_BACKEND", "inline")
_task_backend = {"procrastinate": "engine", "database": "engine"}.get(_task_backend, _task_backend)  # older names
if _task_backend == "redis":
    raise ImproperlyConfigured("LEADBILL_TASK_BACKEND=redis is gone: use engine (PostgreSQL) or inline")
if TASK_BACKENDS.get(_task_backend, _task_backend).endswith("ProcrastinateBackend") and not ON_POSTGRESQL:
    raise ImproperlyConfigured("LEADBILL_TASK_BACKEND=engine needs PostgreSQL (DATABASE_URL=postgres://...)")
TASKS = {"default": {"BACKEND": TASK_BACKENDS.get(_task_backend, _task_backend)}}
PROCRASTINATE_ON_APP_READY = "leadbill.engine.app.on_app_ready"
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = ""  # engine.app registers each task by its path instead
LEADBILL_RUN_CHUNK = env_whole("LEADBILL_RUN_CHUNK", 50, least=1)  # partners per task of a background run
LEADBILL_WORKER_HEARTBEAT = env_seconds("LEADBILL_WORKER_HEARTBEAT", 10)  # seconds between worker beats
LEADBILL_WORKER_POLL = env_seconds("LEADBILL_WORKER_POLL", 5)  # seconds between a worker's looks for new jobs
LEADBILL_WORKER_CONCURRENCY = env_whole("LEADBILL_WORKER_CONCURRENCY", 4, least=1)  # jobs at a time per worker
# When workers run the scheduler's tick on the engine (cron; the 6th field is seconds).
LEADBILL_TICK_CRON = os.environ.get("LEADBILL_TICK_CRON", "*/30 * * * * *")
# Seconds between attempts after a temporary failure (the last failure is final).
LEADBILL_EMAIL_RETRY_DELAYS = env_whole_list("LEADBILL_EMAIL_RETRY_DELAYS", [60, 300, 1800, 7200, 21600])
LEADBILL_WEBHOOK_RETRY_DELAYS = env_whole_list("LEADBILL_WEBHOOK_RETRY_DELAYS", [30, 120, 600, 3600, 21600, 86400])
LEADBILL_WEBHOOKS_ALLOW_HTTP = env_bool("LEADBILL_WEBHOOKS_ALLOW_HTTP", DEBUG)
LEADBILL_WEBHOOKS_ALLOW_PRIVATE = env_bool("LEADBILL_WEBHOOKS_ALLOW_PRIVATE", False)  # loopback/private targets
ROOT_URLCONF = "leadbill.config.urls"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Seconds one PDF render may take; past it the render process is killed and the download says so.
LEADBILL_RENDER_TIMEOUT = env_seconds("LEADBILL_RENDER_TIMEOUT", 20)
OUTPUT_DIR = Path(os.environ.get("LEADBILL_OUTPUT", HOME / "output"))
# Logs: human lines by default (the CLI, the demo); LEADBILL_LOG_FORMAT=json writes one JSON object a line
# with request_id and job_id (leadbill.web.logs), for a deployment's log collector.
LEADBILL_LOG_FORMAT = os.environ.get("LEADBILL_LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "leadbill.web.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if LEADBILL_LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}  # fmt: skip
# /metrics (Prometheus) answers a scraper sending `Authorization: Bearer <token>`; unset, /metrics is off (404).
LEADBILL_METRICS_TOKEN = os.environ.get("LEADBILL_METRICS_TOKEN", "")
# Probes and metrics answer on plain HTTP too (an orchestrator's probe does not follow a redirect to https://).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
