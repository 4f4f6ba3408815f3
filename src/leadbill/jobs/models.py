"""The database-backed task queue (`leadbill.jobs.backends.DatabaseBackend`) and worker liveness."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class JobState(models.TextChoices):
    READY = "ready", "Ready"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """One enqueued task call. Workers claim ready rows with SKIP LOCKED on PostgreSQL."""

    task_path = models.CharField(max_length=200)
    queue = models.CharField(max_length=50, default="default")
    priority = models.SmallIntegerField(default=0)
    payload = models.JSONField(default=dict, help_text='{"args": [...], "kwargs": {...}}')
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.READY)
    run_after = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["queue", "-priority", "id"], condition=Q(state="ready"), name="job_ready_idx"),
            models.Index(fields=["state", "worker_id"], name="job_state_worker_idx"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.task_path} {self.state}"


class WorkerBeat(models.Model):
    """A running worker's heartbeat: a job held by a worker whose beat stopped is put back."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.host} pid {self.pid}"
