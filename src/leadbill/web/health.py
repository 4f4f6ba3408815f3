"""Probes for a load balancer or an orchestrator: /healthz (the process answers) and /readyz (it can work).

/readyz answers 200 only when the database answers, every migration is applied, and the
queue answers: with the PostgreSQL engine its jobs table is read; the inline default has no
queue to reach. Otherwise 503, and the body names what is wrong. No sign-in: the bodies say
nothing but "ok" or the name of the failing part (details go to the log).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)
_migrated: list[bool] = []  # once everything is applied it stays so for this process (a new release is a new process)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return "ok"


def _migrations() -> str:
    if _migrated:
        return "ok"
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"{len(plan)} not applied"
    _migrated.append(True)
    return "ok"


def engine_in_use() -> bool:
    """Whether jobs go through the PostgreSQL engine (not the inline default)."""
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return not backend.startswith("django.tasks.backends.") and connection.vendor == "postgresql"


def _queue() -> str:
    if not engine_in_use():
        return "ok (inline)"
    from leadbill.web.metrics import JOB_TABLE

    with connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {JOB_TABLE} LIMIT 1")
    return "ok"


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for name, check in (("database", _database), ("migrations", _migrations), ("queue", _queue)):
        try:
            checks[name] = check()
        except DatabaseError as exc:
            logger.warning("readyz: %s: %s", name, exc)
            checks[name] = "unavailable"
            if name == "database":
                checks["migrations"] = checks["queue"] = "unknown"
                break
    ready = all(v.startswith("ok") for v in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
