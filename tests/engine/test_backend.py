"""The engine's backend: a job is written in the transaction of the write that asks for it.

On PostgreSQL (procrastinate): a rolled-back write leaves no job; a committed one has its
job, on its task's queue, visible to other connections exactly when the write is.
"""

from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection, transaction

from leadbill.domain import periods
from leadbill.engine.queues import QUEUES, queue_of
from leadbill.invoicing.models import InvoiceRun
from leadbill.invoicing.services import invoice_run_start
from tests.factories import make_entity, make_partner, make_plan


def jobs():
    from procrastinate.contrib.django.models import ProcrastinateJob  # installed on PostgreSQL only

    return ProcrastinateJob.objects


ENGINE = {"default": {"BACKEND": "leadbill.engine.backend.ProcrastinateBackend"}}
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Boom(Exception):
    pass


@pytest.fixture
def engine(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the engine keeps its jobs in PostgreSQL")
    settings.TASKS = ENGINE
    entity = make_entity(timezone="UTC", currency="EUR")
    partner = make_partner(entity, code="p1", currency="EUR")
    make_plan(partner, "flat", {"price": "1.50"})
    return entity


def jobs_seen_elsewhere() -> list[tuple[str, str, dict]]:
    """The jobs as another connection sees them (committed rows only)."""
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"] or "postgres",
                         dbname=s["NAME"]) as other:  # fmt: skip
        rows = other.execute("SELECT task_name, queue_name, args FROM procrastinate_jobs ORDER BY id").fetchall()
    return [(name, queue, args) for name, queue, args in rows]


def start(entity):
    return invoice_run_start(actor="t", entity=entity, period=periods.month(2026, 10, "UTC"))


def test_a_rolled_back_write_enqueues_nothing(engine):
    seen_inside = []

    def write_then_fail():
        with transaction.atomic():
            start(engine)
            # written in this transaction (not after commit), so nobody else sees it yet
            seen_inside.append((jobs().count(), jobs_seen_elsewhere()))
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()
    assert seen_inside == [(1, [])]
    assert not InvoiceRun.objects.exists()
    assert jobs_seen_elsewhere() == []


def test_inside_a_worker_a_job_still_waits_for_the_write_that_asks_for_it(engine):
    """A worker swaps the app's connector for procrastinate's own (autocommitting) one; a task that
    enqueues there (the periodic tick starting a scheduled run) must still defer in its write's
    transaction, or another worker takes the job before the run row exists."""
    from procrastinate import SyncPsycopgConnector
    from procrastinate.contrib.django import app

    s = connection.settings_dict
    own = SyncPsycopgConnector(conninfo=f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} "
                                        f"user={s['USER'] or 'postgres'} dbname={s['NAME']}")  # fmt: skip
    own.open()
    try:
        with app.replace_connector(own):
            test_a_rolled_back_write_enqueues_nothing(engine)
    finally:
        own.close()


def test_a_committed_write_has_its_job_on_its_queue_from_the_moment_it_commits(engine):
    with transaction.atomic():
        run = start(engine)
        assert jobs().count() == 1
        assert jobs_seen_elsewhere() == []  # the job commits with the run, not before
    assert jobs_seen_elsewhere() == [
        ("leadbill.invoicing.tasks.invoice_run_task", "runs", {"args": [run.pk], "kwargs": {}})
    ]


def test_a_task_for_later_is_held_until_then(engine):
    from leadbill.mailing.tasks import email_send_task

    later = datetime(2030, 1, 1, tzinfo=UTC)
    result = email_send_task.using(run_after=later).enqueue(7)

    job = jobs().get(pk=int(result.id))
    assert (job.queue_name, job.status, job.scheduled_at) == ("email", "todo", later)


def test_every_background_task_has_its_queue_and_runs_by_its_path():
    from django.tasks.base import Task
    from django.utils.module_loading import import_string

    from leadbill.background import _discover

    found = {t.module_path for t in _discover().values()}
    assert found <= set(QUEUES), f"tasks without a queue in leadbill/engine/queues.py: {found - set(QUEUES)}"
    for path in QUEUES:
        assert isinstance(import_string(path), Task), path
    assert {queue_of(p) for p in QUEUES} == {"runs", "documents", "email", "webhooks", "default"}


def test_two_workers_offering_the_same_tick_make_one_job(engine):
    """Every worker's periodic deferrer offers the tick; the database keeps one job per timestamp."""
    from asgiref.sync import async_to_sync
    from procrastinate.contrib.django import app

    from leadbill.engine.app import TICK

    tick = app.tasks[TICK]
    when = 1_796_000_000

    def offer():
        job = tick.configure().job.evolve(task_kwargs={"timestamp": when})
        return async_to_sync(app.job_manager.defer_periodic_job)(job, periodic_id="scheduler", defer_timestamp=when)

    first, second = offer(), offer()
    assert first is not None and second is None
    assert jobs().filter(task_name=TICK).count() == 1
