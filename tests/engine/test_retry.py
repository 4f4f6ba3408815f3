"""A job the database refused for contention is run again; any other failure fails it at once.

Real PostgreSQL: the deadlock below is one PostgreSQL detects itself, and the run is worked
by procrastinate's own worker in this process, so the retry is the engine's, not a stand-in.
"""

import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, OperationalError, connection

from leadbill.contention import transient
from leadbill.domain import periods
from leadbill.engine.app import RETRY
from leadbill.engine.periodic import MAX_ATTEMPTS
from leadbill.invoicing.models import Invoice, InvoiceRun, InvoiceRunItem, ItemState
from leadbill.invoicing.services import invoice_run_start
from tests.deadlocks import a_real_deadlock
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("deadlocks and the engine's jobs are PostgreSQL's")


def test_a_deadlock_postgresql_detects_is_contention_and_is_tried_again_later(pg):
    deadlock = a_real_deadlock()
    assert transient(deadlock)
    decision = RETRY.get_retry_decision(exception=deadlock, job=SimpleNamespace(attempts=0))
    assert decision is not None and decision.retry_at > datetime.now(UTC)
    later = RETRY.get_retry_decision(exception=deadlock, job=SimpleNamespace(attempts=2))
    assert later.retry_at > decision.retry_at  # backs off
    assert RETRY.get_retry_decision(exception=deadlock, job=SimpleNamespace(attempts=MAX_ATTEMPTS - 1)) is None
    # the periodic tick (queued under a lock the next tick may hold already) waits for the next tick instead
    tick = SimpleNamespace(attempts=0, queueing_lock="scheduler-tick")
    assert RETRY.get_retry_decision(exception=deadlock, job=tick) is None


def test_a_failure_retrying_cannot_cure_fails_the_job_at_once():
    job = SimpleNamespace(attempts=0)
    for error in (OperationalError("no such table: deliveries_delivery"), IntegrityError("duplicate key"),
                  ValueError("a bug"), RuntimeError("database is locked")):  # fmt: skip
        assert not transient(error)
        assert RETRY.get_retry_decision(exception=error, job=job) is None


def test_every_task_on_the_engine_retries_contention(pg):
    from procrastinate.contrib.django import app

    from leadbill.engine.queues import MOVED, QUEUES

    assert all(app.tasks[path].retry_strategy is RETRY for path in [*QUEUES, *MOVED])


def test_a_run_chunk_that_loses_a_deadlock_is_run_again_and_the_run_finishes(pg, settings, monkeypatch):
    from procrastinate.contrib.django import app
    from procrastinate.contrib.django.models import ProcrastinateJob

    from leadbill.invoicing import tasks

    settings.TASKS = {"default": {"BACKEND": "leadbill.engine.backend.ProcrastinateBackend"}}
    entity = make_entity(timezone="UTC", currency="EUR")
    for code in ("p1", "p2"):
        partner = make_partner(entity, code=code, currency="EUR")
        make_plan(partner, "flat", {"price": "1.50"})
        make_deliveries(partner, 3, datetime(2026, 10, 5, tzinfo=UTC))
    deadlock = a_real_deadlock()
    real, calls = tasks._record_chunk, []

    def loses_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise deadlock
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks, "_record_chunk", loses_once)
    run = invoice_run_start(actor="t", entity=entity, period=periods.month(2026, 10, "UTC"))
    deadline = time.monotonic() + 60
    with app.replace_connector(app.connector.get_worker_connector()):
        while InvoiceRun.objects.get(pk=run.pk).finished_at is None and time.monotonic() < deadline:
            app.run_worker(
                queues=["runs", "default"], wait=False, delete_jobs="successful", install_signal_handlers=False
            )
            time.sleep(0.5)  # the retry is due a second or two after the deadlock
    assert len(calls) == 2, "the chunk was not run again after its deadlock"
    run.refresh_from_db()
    assert run.finished_at is not None
    assert sorted(Invoice.objects.filter(run=run).values_list("partner__code", flat=True)) == ["p1", "p2"]
    assert set(InvoiceRunItem.objects.filter(run=run).values_list("state", flat=True)) == {ItemState.ISSUED}
    assert not ProcrastinateJob.objects.filter(status="failed").exists()


def test_a_dead_workers_tick_is_failed_not_handed_back_over_the_next_tick_and_its_other_jobs_are(pg, settings):
    """The next tick may be queued already under the tick's queueing lock (one waiting job only)."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    from leadbill.engine.app import TICK
    from leadbill.engine.periodic import jobs_recover

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (NOW() - interval '1 hour') RETURNING id"
        )
        dead = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, status, worker_id) VALUES "
            "('default', %s, 'scheduler-tick', 'doing', %s), ('default', %s, 'scheduler-tick', 'todo', NULL), "
            "('email', 'leadbill.mailing.tasks.email_send_task', NULL, 'doing', %s) RETURNING id",
            [TICK, dead, TICK, dead],
        )
        held_tick, next_tick, held_email = (row[0] for row in cursor.fetchall())
    assert jobs_recover() == 2
    status = dict(ProcrastinateJob.objects.values_list("id", "status"))
    assert status == {held_tick: "failed", next_tick: "todo", held_email: "todo"}
