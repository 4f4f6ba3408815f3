"""The scheduler's tick as the engine's periodic job, and the hand-back of jobs whose worker died.

Workers defer `tick` every 30 s (`engine.app`); the database keeps one job per tick across
machines. The tick starts due runs and sweeps (`scheduling.services.scheduler_tick`: email and
webhook retries that fell due, reminders, stalled runs), then puts back the jobs a killed
worker held (`jobs_recover`). `leadbill scheduler --once` does the same from cron.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # a job whose worker died during this many attempts is failed, not tried again


def heartbeat_seconds() -> float:
    """How often a worker beats (LEADBILL_WORKER_HEARTBEAT); it is presumed dead after missing four beats."""
    return float(getattr(settings, "LEADBILL_WORKER_HEARTBEAT", 10))


@task
def tick(timestamp: int | None = None) -> dict[str, Any]:
    from leadbill.scheduling.services import scheduler_tick

    done = scheduler_tick()
    return {"started": [s.run_id for s in done.started], "swept": done.swept, "recovered": jobs_recover()}


def jobs_recover() -> int:
    """Put back for another worker the jobs held by workers whose heartbeat stopped; returns how many.

    Every Leadbill task may run twice (it checks the rows it writes), so a job handed back is
    safe to run again. One whose workers died `MAX_ATTEMPTS` times is failed instead, and so is a
    dead tick: the next tick may already be queued under its queueing lock, which allows one
    waiting job only, and it does the same work.
    """
    if connection.vendor != "postgresql" or not _engine_on():
        return 0
    from procrastinate import sql
    from procrastinate.contrib.django import app

    rows = app.connector.get_sync_connector().execute_query_all(
        query=sql.queries["select_stalled_jobs_by_heartbeat"], queue=None, task_name=None,
        seconds_since_heartbeat=heartbeat_seconds() * 4,
    )  # fmt: skip
    recovered = 0
    for row in rows:
        try:
            with transaction.atomic():  # another tick may have put it back first: then this one is refused
                if row["attempts"] + 1 >= MAX_ATTEMPTS or row["queueing_lock"]:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT procrastinate_finish_job_v1(%s, 'failed', false)", [row["id"]])
                else:
                    app.job_manager.retry_job_by_id(row["id"], retry_at=timezone.now())
        except Exception:
            logger.info("job %s was handed back already", row["id"])
            continue
        recovered += 1
    if recovered:
        logger.warning("handed back %d job(s) of stopped workers", recovered)
    return recovered


def _engine_on() -> bool:
    from django.apps import apps

    return apps.is_installed("procrastinate.contrib.django")
