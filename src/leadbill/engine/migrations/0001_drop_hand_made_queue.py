"""The hand-made queue (app `jobs`, tables jobs_job and jobs_workerbeat) gives way to the engine.

In order: on PostgreSQL the engine's tables exist first (procrastinate's migrations); the old
queue's unfinished jobs (ready, or running when the old workers stopped) move to
procrastinate_jobs on their task's queue; then its tables go, and its migration records.
"""

import json

from django.conf import settings
from django.db import migrations

ENGINE_APP = "procrastinate.contrib.django"


def forwards(apps, schema_editor):
    from leadbill.engine.queues import queue_of

    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        if "jobs_job" in tables and "procrastinate_jobs" in tables:
            cursor.execute("SELECT task_path, priority, payload, run_after FROM jobs_job "
                           "WHERE state IN ('ready', 'running') ORDER BY id")
            for task_path, priority, payload, run_after in cursor.fetchall():
                cursor.execute(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args, scheduled_at) "
                    "VALUES (%s, %s, %s, %s::jsonb, %s)",
                    [queue_of(task_path), task_path, priority,
                     payload if isinstance(payload, str) else json.dumps(payload), run_after],
                )
        for table in ("jobs_job", "jobs_workerbeat"):  # no key between them; the job table first all the same
            if table in tables:
                cursor.execute(f"DROP TABLE {table}")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'jobs'")


class Migration(migrations.Migration):
    dependencies = [("procrastinate", "0041_post_retry_failed_job")] if ENGINE_APP in settings.INSTALLED_APPS else []
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
