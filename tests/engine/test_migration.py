"""Upgrading from the hand-made queue: its unfinished jobs move to the engine, then its tables go."""

import json

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OLD_QUEUE = """
CREATE TABLE jobs_workerbeat (worker_id varchar(64) PRIMARY KEY, host varchar(200) NOT NULL, pid integer NOT NULL,
    queues jsonb NOT NULL, started_at timestamptz NOT NULL, beat_at timestamptz NOT NULL);
CREATE TABLE jobs_job (id bigserial PRIMARY KEY, task_path varchar(200) NOT NULL, queue varchar(50) NOT NULL,
    priority smallint NOT NULL, payload jsonb NOT NULL, state varchar(10) NOT NULL, run_after timestamptz NULL,
    enqueued_at timestamptz NOT NULL, started_at timestamptz NULL, finished_at timestamptz NULL,
    worker_id varchar(64) NOT NULL, attempts integer NOT NULL, error text NOT NULL, result jsonb NULL);
INSERT INTO django_migrations (app, name, applied) VALUES ('jobs', '0001_initial', now());
"""


def test_the_old_queues_unfinished_jobs_move_to_the_engine_and_its_tables_go():
    if connection.vendor != "postgresql":
        pytest.skip("the engine keeps its jobs in PostgreSQL")
    call_command("migrate", "engine", "zero", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(OLD_QUEUE)
        for state, path, args in [("done", "leadbill.mailing.tasks.email_send_task", [1]),
                                  ("ready", "leadbill.mailing.tasks.email_send_task", [2]),
                                  ("running", "leadbill.invoicing.tasks.invoice_run_task", [3])]:  # fmt: skip
            cursor.execute(
                "INSERT INTO jobs_job (task_path, queue, priority, payload, state, enqueued_at, worker_id, attempts, "
                "error) VALUES (%s, 'default', 0, %s::jsonb, %s, now(), '', 0, '')",
                [path, json.dumps({"args": args, "kwargs": {}}), state],
            )
    call_command("migrate", "engine", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, queue_name, args::text, status FROM procrastinate_jobs ORDER BY id")
        moved = [(name, queue, json.loads(args), status) for name, queue, args, status in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'jobs'")
        records = cursor.fetchone()[0]
    assert moved == [
        ("leadbill.mailing.tasks.email_send_task", "email", {"args": [2], "kwargs": {}}, "todo"),
        ("leadbill.invoicing.tasks.invoice_run_task", "runs", {"args": [3], "kwargs": {}}, "todo"),
    ]
    tables = set(connection.introspection.table_names())
    assert not {"jobs_job", "jobs_workerbeat"} & tables and records == 0
