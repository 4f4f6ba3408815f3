"""Django's task framework on procrastinate: `task.enqueue()` defers a procrastinate job.

The Django app of procrastinate (`procrastinate.contrib.django`) defers through Django's
connection (its `DjangoConnector` runs `procrastinate_defer_jobs_v1` on
`connections["default"].cursor()`), so inside `transaction.atomic()` the job row is part
of the write's transaction: committed with it, or rolled back with it. Deferring does not
wait for the commit, and nothing is held in memory for later.

Inside a worker the app's connector is swapped for procrastinate's own pool (`engine.worker`),
which commits a job at once. A task that enqueues (the periodic tick starting a scheduled run)
would then publish the job before its run row exists, and another worker could take it and not
find the run. So every enqueue defers through a `DjangoConnector` of its own, in every process.

A job's procrastinate task name is the Django task's dotted path; its arguments are
`{"args": [...], "kwargs": {...}}` (JSON, as Django's task framework requires); its queue
comes from `leadbill.engine.queues`. Workers run it with `Task.call` (`engine.app`).
"""

from __future__ import annotations

from typing import Any

from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import Task, TaskResult, TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone
from django.utils.json import normalize_json
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.manager import JobManager

from leadbill.engine.queues import queue_of

_STATUS = {"todo": "READY", "doing": "RUNNING", "succeeded": "SUCCESSFUL", "failed": "FAILED",
           "cancelled": "FAILED", "aborting": "RUNNING", "aborted": "FAILED"}  # fmt: skip


class ProcrastinateBackend(BaseTaskBackend):
    supports_defer = True
    supports_priority = True
    supports_get_result = True
    enqueues_in_transaction = True  # read by leadbill.engine.kick

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        from procrastinate.contrib.django import app

        self.validate_task(task)
        options: dict[str, Any] = {"queue": queue_of(task.module_path), "priority": task.priority}
        if task.run_after is not None:
            options["schedule_at"] = task.run_after
        deferrer = app.configure_task(task.module_path, **options)
        deferrer.job_manager = JobManager(DjangoConnector())  # the write's transaction, even inside a worker
        job_id = deferrer.defer(**normalize_json({"args": list(args), "kwargs": dict(kwargs)}))
        return _result(task, job_id, "READY", args, kwargs, self.alias)

    def get_result(self, result_id: str) -> TaskResult:
        from django.utils.module_loading import import_string
        from procrastinate.contrib.django.models import ProcrastinateJob

        try:
            job = ProcrastinateJob.objects.get(pk=int(result_id))
        except (ProcrastinateJob.DoesNotExist, ValueError):
            raise TaskResultDoesNotExist(result_id) from None
        return _result(import_string(job.task_name), job.pk, _STATUS.get(job.status, "READY"),
                       job.args.get("args", []), job.args.get("kwargs", {}), self.alias)  # fmt: skip


def _result(task: Task, job_id: int, status: str, args: Any, kwargs: Any, alias: str) -> TaskResult:
    return TaskResult(
        task=task, id=str(job_id), status=TaskResultStatus(status), enqueued_at=timezone.now(), started_at=None,
        finished_at=None, last_attempted_at=None, args=list(args), kwargs=dict(kwargs), backend=alias, errors=[],
        worker_ids=[],
    )  # fmt: skip
