"""Enqueue with the write: the one way services start background work.

The engine (`ProcrastinateBackend`) takes the job inside the write's transaction, so the
work and its job commit together or not at all. The inline backend runs the task after
commit; it cannot hold a job for later, so the scheduler's sweep starts a retry once it
falls due (`needs_kick`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.tasks.base import Task
from django.utils import timezone


def enqueue_on_commit(task: Task, *args: Any, run_after: datetime | None = None, **kwargs: Any) -> None:
    """Queue `task` with the current transaction (see above; at once outside one).

    A job for later (a retry with backoff) goes to the queue with `run_after` where the
    backend can defer; the inline backend cannot, and the scheduler's sweep starts such
    work when it falls due (`leadbill.scheduling.services.sweep`).
    """

    def go() -> None:
        chosen = task
        if run_after is not None and run_after > timezone.now():
            if not task.get_backend().supports_defer:
                return
            chosen = task.using(run_after=run_after)
        chosen.enqueue(*args, **kwargs)

    if getattr(task.get_backend(), "enqueues_in_transaction", False):
        go()
    else:
        transaction.on_commit(go)


def kick_rows(task: Task, rows: Any, pks: list[int]) -> None:
    """Queue `task(pk)` for each row and stamp the rows' `kicked_at` once the jobs exist.

    The stamp follows the enqueue (in the transaction on the engine, after commit inline), so a row whose job was lost with a dying process keeps an empty stamp and
    the next sweep queues it at once.
    """

    def go() -> None:
        for pk in pks:
            task.enqueue(pk)
        rows.filter(pk__in=pks).update(kicked_at=timezone.now())

    if getattr(task.get_backend(), "enqueues_in_transaction", False):
        go()
    else:
        transaction.on_commit(go)


# A queued row whose task never ran (lost with its queue, or skipped by a backend that cannot
# defer) is queued again by the scheduler's sweep after this long.
REKICK_AFTER = timedelta(minutes=30)


def needs_kick(now: datetime) -> Q:
    """Rows (sends, deliveries) with no job queued for their next attempt.

    No stamp (the job was lost, or the inline backend could not defer a retry), a stamp
    older than the attempt it should serve, or one so old its job must have been lost.
    """
    return Q(kicked_at__isnull=True) | Q(kicked_at__lt=F("next_attempt_at")) | Q(kicked_at__lt=now - REKICK_AFTER)


def kicked_at(task: Task, run_after: datetime) -> datetime | None:
    """What to record as "task queued at" for work due at `run_after`.

    A deferring backend holds the job until then; the inline one cannot, so nothing is
    recorded and the scheduler's sweep queues the work once it falls due.
    """
    return run_after if task.get_backend().supports_defer else None
