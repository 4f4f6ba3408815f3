"""Leadbill's tasks on procrastinate's app (PROCRASTINATE_ON_APP_READY points here).

Each Django task named in `queues.QUEUES` becomes a procrastinate task of the same dotted
path, on its queue, that calls the Django task's function. The scheduler's tick is a
periodic task: every worker's periodic deferrer offers it, and PostgreSQL keeps one job per
tick (`procrastinate_periodic_defers` is unique on task, periodic id and timestamp), so one
tick acts across machines.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from leadbill.contention import transient
from leadbill.engine.queues import MOVED, QUEUES

logger = logging.getLogger(__name__)
TICK = "leadbill.engine.periodic.tick"


def tick_cron() -> str:
    """When the scheduler ticks on the engine: every 30 s unless LEADBILL_TICK_CRON says otherwise."""
    return str(getattr(settings, "LEADBILL_TICK_CRON", "*/30 * * * * *"))


class ContentionRetry(BaseRetryStrategy):
    """Run a job again, a little later, when the database refused it for contention.

    A deadlock or a serialization failure rolls the job's transaction back whole, and every
    Leadbill task is safe to run twice, so trying again is right; without it a chunk of an
    invoice run that lost a deadlock would leave its partners pending until the stale-run
    sweep fails the run half an hour later. Any other error fails the job at once, for a
    person to read. Hand-backs of a dead worker's jobs count towards the same attempts.
    """

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        from leadbill.engine.periodic import MAX_ATTEMPTS

        if not transient(exception) or job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        if getattr(job, "queueing_lock", None):
            # The periodic tick: the next one may be queued under the same lock already, and putting
            # this one back would break that lock's uniqueness; the next tick does its work anyway.
            return None
        return RetryDecision(retry_in={"seconds": 2**job.attempts + random.random()})


RETRY = ContentionRetry()


def on_app_ready(app: Any) -> None:
    for path, queue in QUEUES.items():
        app.task(name=path, queue=queue, pass_context=True, retry=RETRY)(_runner(path))
    for old, new in MOVED.items():
        app.task(name=old, queue=QUEUES[new], pass_context=True, retry=RETRY)(_runner(new))
    app.periodic(cron=tick_cron(), periodic_id="scheduler", queueing_lock="scheduler-tick")(app.tasks[TICK])


def _runner(path: str) -> Callable[..., Any]:
    def run(context: Any, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **extra: Any) -> Any:
        task = import_string(path)
        started = time.monotonic()
        ok = False
        with _job_logging(context.job.id):
            try:
                result = task.call(*(args or []), **(kwargs or {}), **extra)  # `extra`: a periodic job's timestamp
                ok = True
                return result
            finally:
                from leadbill.engine.worker import count

                count(ok)
                _job_finished(path, context.job.queue, time.monotonic() - started, ok)

    run.__name__ = run.__qualname__ = path.rsplit(".", 1)[1]
    return run


def _job_logging(job_id: Any) -> Any:
    try:
        from leadbill.web.logs import job_context  # type: ignore[attr-defined]
    except ImportError:
        return contextlib.nullcontext()
    return job_context(job_id)


def _job_finished(name: str, queue: str, seconds: float, ok: bool) -> None:
    try:
        from leadbill.web.metrics import job_finished  # type: ignore[attr-defined]
    except ImportError:
        return
    job_finished(name=name, queue=queue, seconds=seconds, ok=ok)
