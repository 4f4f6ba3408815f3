"""`leadbill worker`: runs queued jobs of the database or Redis backend until stopped.

One job at a time per process; start several processes (or machines) to share the work.
A heartbeat thread keeps the worker's lease; a job held by a worker whose heartbeat
stopped is put back by any other worker (`recover`). SIGTERM / SIGINT finish the job at
hand, then stop.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connections
from django.tasks import task_backends
from django.utils.module_loading import import_string

from leadbill.jobs.backends import DatabaseBackend, RedisBackend, heartbeat_seconds, new_worker_id

logger = logging.getLogger(__name__)
RECOVER_EVERY = 10.0  # seconds between looks for jobs of dead workers
PRUNE_AFTER = timedelta(days=7)  # finished jobs are kept this long for their results


class NoWorkerBackend(Exception):
    """The configured backend runs tasks inline (or not at all): there is nothing for a worker to do."""


def queue_backend(alias: str = "default") -> DatabaseBackend | RedisBackend:
    backend = task_backends[alias]
    if not isinstance(backend, DatabaseBackend | RedisBackend):
        raise NoWorkerBackend(
            f"the task backend {type(backend).__name__} runs tasks {'inline' if 'Immediate' in type(backend).__name__ else 'elsewhere'}; "
            "set LEADBILL_TASK_BACKEND=database (or redis) for workers"
        )
    return backend


class Worker:
    def __init__(
        self,
        *,
        alias: str = "default",
        queues: list[str] | None = None,
        max_jobs: int | None = None,
        idle_exit: float | None = None,
        poll: float = 0.5,
    ) -> None:
        self.backend = queue_backend(alias)
        self.queues = queues or ["default"]
        self.max_jobs = max_jobs
        self.idle_exit = idle_exit
        self.poll = poll
        self.worker_id = new_worker_id()
        self.stopping = threading.Event()
        self.done = 0
        self.failed = 0

    def stop(self, *_: Any) -> None:
        self.stopping.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.backend.beat(self.worker_id, self.queues)
        beating = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        beating.start()
        logger.info("worker %s on %s", self.worker_id, ", ".join(self.queues))
        last_recover = 0.0
        idle_since = time.monotonic()
        try:
            while not self.stopping.is_set():
                if time.monotonic() - last_recover > RECOVER_EVERY:
                    last_recover = time.monotonic()
                    self._housekeeping()
                close_old_connections()
                job = self.backend.claim(self.worker_id, self.queues, self.poll)
                if job is None:
                    if self.idle_exit is not None and time.monotonic() - idle_since > self.idle_exit:
                        break
                    continue
                self._execute(job)
                idle_since = time.monotonic()
                if self.max_jobs is not None and self.done + self.failed >= self.max_jobs:
                    break
        finally:
            self.stopping.set()
            beating.join(timeout=heartbeat_seconds() + 1)
            self.backend.retire(self.worker_id)
            connections.close_all()
        return 0

    def _execute(self, job: Any) -> None:
        try:
            task = import_string(job.task_path)
            result = task.call(*job.args, **job.kwargs)
        except Exception as exc:
            self.failed += 1
            logger.error("job %s (%s) failed: %s", job.id, job.task_path, exc)
            close_old_connections()
            self.backend.finish(job, worker_id=self.worker_id, error="".join(traceback.format_exception(exc)))
        else:
            self.done += 1
            self.backend.finish(job, worker_id=self.worker_id, result=result)

    def _housekeeping(self) -> None:
        try:
            recovered = self.backend.recover()
            if recovered:
                logger.warning("put back %d job(s) of stopped workers", recovered)
            self.backend.prune(PRUNE_AFTER)
        except Exception:
            logger.exception("housekeeping failed; trying again later")

    def _beat(self) -> None:
        """Heartbeat on its own connection, so a long job keeps its lease."""
        while not self.stopping.wait(heartbeat_seconds()):
            try:
                self.backend.beat(self.worker_id, self.queues)
            except Exception:
                logger.exception("heartbeat failed")
            finally:
                connections.close_all()
