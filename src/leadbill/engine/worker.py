"""`leadbill worker`: procrastinate's worker on Leadbill's queues.

- Queues: all of them unless `--queue` names some (runs, documents, email, webhooks, default).
- Concurrency: jobs run in threads of the one process (`--concurrency`, LEADBILL_WORKER_CONCURRENCY,
  default 4); rendering runs in its own processes and email and webhooks wait on the network,
  so a few threads keep a core busy. Start one worker process per core, on as many machines
  as you like.
- Heartbeat every LEADBILL_WORKER_HEARTBEAT seconds (10); the jobs of a worker silent for four
  beats are handed back to the others by the scheduler's tick (`engine.periodic.jobs_recover`).
- SIGTERM or SIGINT: take no new job, finish the jobs in hand, deregister, exit 0. A second
  signal stops at once; the jobs it held are handed back like a killed worker's.
- Finished jobs are deleted once they succeed (the rows they wrote are the record); failed
  ones stay in `procrastinate_jobs` for the admin and `procrastinate` CLI.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from leadbill.engine import queues as queue_names

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def count(ok: bool) -> None:
    with _lock:
        _counts["done" if ok else "failed"] += 1


class NoEngine(Exception):
    """Tasks run inline here (LEADBILL_TASK_BACKEND is not the engine): there is nothing for a worker to do."""


@dataclass
class WorkerRun:
    queues: list[str]
    concurrency: int
    counts: Counter[str] = field(default_factory=Counter)


def default_concurrency() -> int:
    return int(settings.LEADBILL_WORKER_CONCURRENCY)


def engine_on() -> bool:
    from django.conf import settings

    backend = settings.TASKS["default"]["BACKEND"]
    return str(backend).endswith("ProcrastinateBackend")


def run_worker(*, queues: list[str] | None = None, concurrency: int | None = None, **options: Any) -> WorkerRun:
    """Run until SIGTERM/SIGINT; returns what was done."""
    from procrastinate.contrib.django import app

    from leadbill.engine.periodic import heartbeat_seconds

    if not engine_on():
        raise NoEngine("tasks run inline in this set-up; set LEADBILL_TASK_BACKEND=engine (PostgreSQL) to run workers")
    chosen = queues or list(queue_names.ALL)
    unknown = sorted(set(chosen) - set(queue_names.ALL))
    if unknown:
        raise NoEngine(f"unknown queue(s) {', '.join(unknown)}; the queues are {', '.join(queue_names.ALL)}")
    run = WorkerRun(queues=chosen, concurrency=concurrency or default_concurrency())
    beat = heartbeat_seconds()
    with app.replace_connector(app.connector.get_worker_connector()):  # type: ignore[attr-defined]
        app.run_worker(
            queues=run.queues, concurrency=run.concurrency, delete_jobs="successful",
            update_heartbeat_interval=beat, stalled_worker_timeout=beat * 4,
            fetch_job_polling_interval=settings.LEADBILL_WORKER_POLL, **options,
        )  # fmt: skip
    run.counts = Counter(_counts)
    return run
