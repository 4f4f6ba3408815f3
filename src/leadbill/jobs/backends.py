"""Task backends for real workers: a database queue and a Redis queue.

Both plug into Django's task framework (`TASKS = {"default": {"BACKEND": ...}}`), so the
code that enqueues (`some_task.enqueue(...)`) is the same inline, on the database or on
Redis. `leadbill worker` runs the jobs of either (`leadbill.jobs.worker`).

Delivery is at least once: a job held by a worker whose heartbeat stopped (killed,
machine lost) is put back for another worker. Every task in Leadbill is therefore
idempotent, checked against the rows it writes (docs/automation.md).
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskResult, TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone
from django.utils.json import normalize_json

MAX_ATTEMPTS = 5  # a job whose worker died this many times is failed, not tried again


def heartbeat_seconds() -> float:
    return float(getattr(settings, "LEADBILL_WORKER_HEARTBEAT", 5))


def dead_after_seconds() -> float:
    """A worker is presumed dead after missing a few beats."""
    return heartbeat_seconds() * 4


@dataclass
class ClaimedJob:
    """A job a worker holds: what to call, and how to hand it back."""

    id: str
    task_path: str
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    raw: Any = field(default=None, repr=False)


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:12]}"


def _payload(args: Any, kwargs: Any) -> dict[str, Any]:
    return normalize_json({"args": list(args), "kwargs": dict(kwargs)})


def _result(task: Task, job_id: str, status: str, args: Any, kwargs: Any, alias: str, **times: Any) -> TaskResult:
    return TaskResult(
        task=task, id=job_id, status=TaskResultStatus(status), enqueued_at=times.get("enqueued_at"),
        started_at=times.get("started_at"), finished_at=times.get("finished_at"),
        last_attempted_at=times.get("started_at"), args=list(args), kwargs=dict(kwargs), backend=alias,
        errors=[], worker_ids=[],
    )  # fmt: skip


# --- the database queue ----------------------------------------------------------------------


class DatabaseBackend(BaseTaskBackend):
    """Jobs are rows of `jobs_job`; an enqueue inside a transaction commits or rolls back with it."""

    supports_defer = True
    supports_priority = True
    supports_get_result = True
    enqueues_in_transaction = True  # a job row commits with the write that made it (leadbill.jobs.kick)

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        from leadbill.jobs.models import Job

        self.validate_task(task)
        job = Job.objects.create(
            task_path=task.module_path, queue=task.queue_name, priority=task.priority,
            payload=_payload(args, kwargs), run_after=task.run_after,
        )  # fmt: skip
        return _result(task, str(job.pk), "READY", args, kwargs, self.alias, enqueued_at=job.enqueued_at)

    def get_result(self, result_id: str) -> TaskResult:
        from django.utils.module_loading import import_string

        from leadbill.jobs.models import Job

        try:
            job = Job.objects.get(pk=int(result_id))
        except (Job.DoesNotExist, ValueError):
            raise TaskResultDoesNotExist(result_id) from None
        status = {"ready": "READY", "running": "RUNNING", "done": "SUCCESSFUL", "failed": "FAILED"}[job.state]
        result = _result(import_string(job.task_path), str(job.pk), status, job.payload["args"],
                         job.payload["kwargs"], self.alias, enqueued_at=job.enqueued_at,
                         started_at=job.started_at, finished_at=job.finished_at)  # fmt: skip
        object.__setattr__(result, "_return_value", job.result)
        return result

    # the worker's side

    def claim(self, worker_id: str, queues: list[str], wait: float) -> ClaimedJob | None:
        from leadbill.jobs.models import Job, JobState

        now = timezone.now()
        with transaction.atomic():
            ready = Job.objects.filter(state=JobState.READY, queue__in=queues).filter(
                Q(run_after__isnull=True) | Q(run_after__lte=now)
            )
            if connection.features.has_select_for_update_skip_locked:
                ready = ready.select_for_update(skip_locked=True)
            job = ready.order_by("-priority", "id").first()
            if job is None:
                claimed = None
            else:
                Job.objects.filter(pk=job.pk).update(
                    state=JobState.RUNNING, worker_id=worker_id, started_at=now, attempts=F("attempts") + 1
                )
                claimed = ClaimedJob(str(job.pk), job.task_path, job.payload.get("args", []),
                                     job.payload.get("kwargs", {}), job.attempts + 1)  # fmt: skip
        if claimed is None and wait:
            time.sleep(wait)
        return claimed

    def finish(self, job: ClaimedJob, *, worker_id: str, error: str = "", result: Any = None) -> None:
        from leadbill.jobs.models import Job, JobState

        Job.objects.filter(pk=int(job.id)).update(
            state=JobState.FAILED if error else JobState.DONE, finished_at=timezone.now(), error=error,
            result=normalize_json(result) if not error else None,
        )  # fmt: skip

    def beat(self, worker_id: str, queues: list[str]) -> None:
        from leadbill.jobs.models import WorkerBeat

        now = timezone.now()
        updated = WorkerBeat.objects.filter(worker_id=worker_id).update(beat_at=now)
        if not updated:
            WorkerBeat.objects.create(worker_id=worker_id, host=socket.gethostname(), pid=_pid(), queues=queues,
                                      started_at=now, beat_at=now)  # fmt: skip

    def retire(self, worker_id: str) -> None:
        from leadbill.jobs.models import WorkerBeat

        WorkerBeat.objects.filter(worker_id=worker_id).delete()

    def recover(self) -> int:
        """Put back jobs held by workers whose heartbeat stopped; returns how many."""
        from leadbill.jobs.models import Job, JobState, WorkerBeat

        cutoff = timezone.now() - timedelta(seconds=dead_after_seconds())
        with transaction.atomic():
            dead = list(WorkerBeat.objects.filter(beat_at__lt=cutoff).values_list("worker_id", flat=True))
            alive = WorkerBeat.objects.filter(beat_at__gte=cutoff).values_list("worker_id", flat=True)
            orphans = Job.objects.filter(state=JobState.RUNNING).exclude(worker_id__in=alive)
            failed = orphans.filter(attempts__gte=MAX_ATTEMPTS).update(
                state=JobState.FAILED, finished_at=timezone.now(),
                error=f"its worker stopped during each of {MAX_ATTEMPTS} attempts",
            )  # fmt: skip
            back = orphans.update(state=JobState.READY, worker_id="", started_at=None)
            WorkerBeat.objects.filter(worker_id__in=dead).delete()
        return back + failed

    def prune(self, older_than: timedelta) -> int:
        from leadbill.jobs.models import Job, JobState

        cutoff = timezone.now() - older_than
        deleted, _ = Job.objects.filter(state=JobState.DONE, finished_at__lt=cutoff).delete()
        return deleted

    def pending(self) -> int:
        from leadbill.jobs.models import Job, JobState

        return Job.objects.filter(state__in=[JobState.READY, JobState.RUNNING]).count()


# --- the Redis queue -----------------------------------------------------------------------------

# Due delayed jobs move to the ready list atomically, so two workers never both move one.
_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, item in ipairs(due) do
  redis.call('ZREM', KEYS[1], item)
  redis.call('LPUSH', KEYS[2], item)
end
return #due
"""


class RedisBackend(BaseTaskBackend):
    """Jobs are JSON items of Redis lists; a claimed job moves to the worker's own list.

    OPTIONS: {"URL": "redis://127.0.0.1:6379/0", "PREFIX": "leadbill"}. The push happens
    after the enqueuing transaction commits, so a rolled-back write queues nothing.
    """

    supports_defer = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.url = self.options.get("URL", "redis://127.0.0.1:6379/0")
        self.prefix = self.options.get("PREFIX", "leadbill")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url, decode_responses=True)
        return self._client

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        job_id = uuid.uuid4().hex
        now = timezone.now()
        queue = task.queue_name
        item = json.dumps({"id": job_id, "task": task.module_path, "queue": queue, "attempts": 0,
                           "enqueued_at": now.isoformat(), **_payload(args, kwargs)})  # fmt: skip
        run_after: datetime | None = task.run_after

        def push() -> None:
            if run_after is not None and run_after > timezone.now():
                self.client.zadd(self.key("delayed", queue), {item: run_after.timestamp()})
            else:
                self.client.lpush(self.key("queue", queue), item)

        transaction.on_commit(push)
        return _result(task, job_id, "READY", args, kwargs, self.alias, enqueued_at=now)

    # the worker's side

    def claim(self, worker_id: str, queues: list[str], wait: float) -> ClaimedJob | None:
        processing = self.key("processing", worker_id)
        for queue in queues:
            self.client.eval(_PROMOTE, 2, self.key("delayed", queue), self.key("queue", queue), time.time())
        for queue in queues:
            item = self.client.lmove(self.key("queue", queue), processing, "RIGHT", "LEFT")
            if item is not None:
                return self._claimed(item)
        if wait:
            item = self.client.blmove(self.key("queue", queues[0]), processing, wait, "RIGHT", "LEFT")
            if item is not None:
                return self._claimed(item)
        return None

    def _claimed(self, item: str) -> ClaimedJob:
        data = json.loads(item)
        return ClaimedJob(data["id"], data["task"], data.get("args", []), data.get("kwargs", {}),
                          int(data.get("attempts", 0)) + 1, raw=item)  # fmt: skip

    def finish(self, job: ClaimedJob, *, worker_id: str, error: str = "", result: Any = None) -> None:
        self.client.lrem(self.key("processing", worker_id), 1, job.raw)
        if error:
            self.client.lpush(self.key("failed"), json.dumps({**json.loads(job.raw), "error": error[-4000:]}))
            self.client.ltrim(self.key("failed"), 0, 9999)

    def beat(self, worker_id: str, queues: list[str]) -> None:
        pipe = self.client.pipeline()
        pipe.sadd(self.key("workers"), worker_id)
        pipe.set(self.key("worker", worker_id), json.dumps({"queues": queues, "pid": _pid()}),
                 ex=max(1, int(dead_after_seconds() + 0.999)))  # fmt: skip
        pipe.execute()

    def retire(self, worker_id: str) -> None:
        self.client.delete(self.key("worker", worker_id))
        self.client.srem(self.key("workers"), worker_id)

    def recover(self) -> int:
        """Put back the jobs of workers whose heartbeat key expired."""
        moved = 0
        for worker_id in self.client.smembers(self.key("workers")):
            if self.client.exists(self.key("worker", worker_id)):
                continue
            processing = self.key("processing", worker_id)
            while (item := self.client.rpop(processing)) is not None:
                data = json.loads(item)
                data["attempts"] = int(data.get("attempts", 0)) + 1
                if data["attempts"] >= MAX_ATTEMPTS:
                    data["error"] = f"its worker stopped during each of {MAX_ATTEMPTS} attempts"
                    self.client.lpush(self.key("failed"), json.dumps(data))
                else:
                    self.client.rpush(self.key("queue", data.get("queue", "default")), json.dumps(data))
                moved += 1
            self.client.srem(self.key("workers"), worker_id)
        return moved

    def prune(self, older_than: timedelta) -> int:
        return 0  # finished jobs leave no trace in Redis but the capped failed list

    def pending(self) -> int:
        total = 0
        for key in self.client.scan_iter(self.key("queue", "*")):
            total += self.client.llen(key)
        for key in self.client.scan_iter(self.key("delayed", "*")):
            total += self.client.zcard(key)
        for key in self.client.scan_iter(self.key("processing", "*")):
            total += self.client.llen(key)
        return total

    def flush(self) -> None:
        """Forget every queued job (tests and benchmarks start from an empty queue)."""
        for key in self.client.scan_iter(self.key("*")):
            self.client.delete(key)


def _pid() -> int:
    import os

    return os.getpid()
