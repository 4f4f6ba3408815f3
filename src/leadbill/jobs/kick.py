"""Enqueue after the write commits: the one way services start background work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.tasks.base import Task
from django.utils import timezone


def enqueue_on_commit(task: Task, *args: Any, run_after: datetime | None = None, **kwargs: Any) -> None:
    """Queue `task` once the current transaction commits (at once outside one).

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

    transaction.on_commit(go)


# A queued row whose task never ran (lost with its queue, or skipped by a backend that cannot
# defer) is queued again by the scheduler's sweep after this long.
REKICK_AFTER = timedelta(minutes=30)


def needs_kick(now: datetime) -> Q:
    """Rows (sends, deliveries) with no task queued for them, or none for `REKICK_AFTER`."""
    return Q(kicked_at__isnull=True) | Q(kicked_at__lt=now - REKICK_AFTER)


def kicked_at(task: Task, run_after: datetime) -> datetime | None:
    """What to record as "task queued at" for work due at `run_after`.

    A deferring backend holds the job until then; the inline one cannot, so nothing is
    recorded and the scheduler's sweep queues the work once it falls due.
    """
    return run_after if task.get_backend().supports_defer else None
