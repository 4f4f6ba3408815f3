"""Real `leadbill worker` processes on the engine (procrastinate, PostgreSQL): a scheduled run for many partners.

`leadbill scheduler --once` (its own process) queues the run; workers issue it in chunks,
email every invoice to an SMTP server this test runs (aiosmtpd) and announce it to a webhook
receiver this test runs. The workers' own periodic tick (every 2 s here) sweeps and hands
back the jobs of a dead worker. One test kills a worker mid-run (SIGKILL) and starts
another, one stops a worker with SIGTERM mid-run: no invoice, email or webhook may be made
twice, none may be lost, and invoice numbers stay gapless.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from leadbill.invoicing.models import Invoice, InvoiceRun
from leadbill.mailing.models import EmailSend, SendState
from leadbill.scheduling.models import Schedule
from leadbill.scheduling.services import schedule_set
from leadbill.webhooks.models import Delivery, DeliveryState
from leadbill.webhooks.services import endpoint_add
from tests.factories import make_deliveries, make_entity, make_partner, make_plan
from tests.mailing.test_smtp import Recorder, free_port
from tests.webhooks.test_delivery import Receiver

PARTNERS = 120
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def pg():
    if connection.vendor != "postgresql":
        pytest.skip("workers in other processes need a shared server database (PostgreSQL)")
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def peers(settings):
    settings.LEADBILL_WEBHOOKS_ALLOW_HTTP = True
    settings.LEADBILL_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    smtp = Recorder()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    hooks = Receiver()
    yield smtp, controller.port, hooks
    controller.stop()
    hooks.close()


@pytest.fixture
def scheduled(db, peers):
    _, _, hooks = peers
    entity = make_entity(timezone="UTC", currency="EUR", invoice_prefix="W-", credit_note_prefix="WC-")
    for i in range(PARTNERS):
        partner = make_partner(entity, code=f"p{i:03d}", currency="EUR")
        make_plan(partner, "flat", {"price": "1.50"})
        make_deliveries(partner, 3, utc(2026, 10, 5))
    hooks.secret = endpoint_add(actor="test", entity=entity, url=hooks.url, events=["invoice.issued"]).secret
    schedule = schedule_set(actor="test", entity=entity, frequency="monthly")
    Schedule.objects.filter(pk=schedule.pk).update(active_from=utc(2026, 10, 20))
    return entity


CONCURRENCY = 2  # jobs at a time per worker process: what a killed worker can hold mid-conversation


def env_for(pg, port):
    return {
        **os.environ, "DATABASE_URL": pg, "LEADBILL_TASK_BACKEND": "engine",
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "0", "LEADBILL_WEBHOOKS_ALLOW_HTTP": "1",
        "LEADBILL_WEBHOOKS_ALLOW_PRIVATE": "1", "LEADBILL_WORKER_CONCURRENCY": str(CONCURRENCY),
        "LEADBILL_WORKER_HEARTBEAT": "0.5", "LEADBILL_RUN_CHUNK": "10", "LEADBILL_TICK_CRON": "*/2 * * * * *",
        "LEADBILL_WORKER_POLL": "1",
        # a send or webhook the loaded machine times out is tried again within the test's wait, not in minutes
        "LEADBILL_EMAIL_RETRY_DELAYS": "2,5,10,20,40", "LEADBILL_WEBHOOK_RETRY_DELAYS": "2,5,10,20,40",
    }  # fmt: skip


def leadbill(*args):
    return [sys.executable, "-m", "leadbill.cli.main", *args]


def wait_for(condition, timeout=240.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def october_run(entity):
    return InvoiceRun.objects.filter(entity=entity, period_key="2026-10").first()


def all_done(entity):
    run = october_run(entity)
    if run is None or run.finished_at is None:
        return False
    open_sends = EmailSend.objects.filter(invoice__run=run).exclude(state=SendState.SENT).count()
    open_hooks = Delivery.objects.filter(event__entity=entity).exclude(state=DeliveryState.DELIVERED).count()
    return open_sends == 0 and open_hooks == 0


def where_it_stands(entity):
    """What a stalled run left behind, for the failure message: the run, the jobs, the emails and webhooks."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    run = october_run(entity)
    jobs = Counter(ProcrastinateJob.objects.exclude(task_name__endswith=".tick").values_list("task_name", "status"))
    sends = Counter(EmailSend.objects.filter(invoice__entity=entity).values_list("state", "attempts", "server_answer"))
    hooks = Counter(Delivery.objects.filter(event__entity=entity).values_list("state", "attempts", "last_error"))
    state = "no run" if run is None else f"run {run.pk} finished_at={run.finished_at}"
    invoices = Invoice.objects.filter(entity=entity).count()
    return f"{state}; {invoices} invoices; jobs {dict(jobs)}; emails {dict(sends)}; webhooks {dict(hooks)}"


def settled(entity):
    """The run is finished and nothing is left to do: no job queued or running, no email or webhook queued.

    What a killed worker held mid-conversation stays "sending" (never sent again on its own).
    """
    from procrastinate.contrib.django.models import ProcrastinateJob

    run = october_run(entity)
    if run is None or run.finished_at is None:
        return False
    busy = ProcrastinateJob.objects.filter(status__in=["todo", "doing"]).exclude(task_name__endswith=".tick").exists()
    queued = EmailSend.objects.filter(invoice__run=run, state=SendState.QUEUED).exists() or Delivery.objects.filter(
        event__entity=entity, state=DeliveryState.QUEUED).exists()  # fmt: skip
    return not busy and not queued


def assert_each_once(entity, smtp, hooks, *, in_flight_allowed=0):
    run = october_run(entity)
    invoices = Invoice.objects.filter(run=run)
    assert invoices.count() == PARTNERS
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, PARTNERS + 1))
    assert Invoice.objects.filter(entity=entity).count() == PARTNERS  # no other run invoiced anyone
    sends = EmailSend.objects.filter(invoice__run=run)
    assert sends.count() == PARTNERS and sends.values("invoice").distinct().count() == PARTNERS
    ids = Counter()
    for _, _, raw in smtp.accepted:
        header = raw.split(b"\r\n\r\n", 1)[0]
        ids[next(line for line in header.split(b"\r\n") if line.lower().startswith(b"message-id:"))] += 1
    assert max(ids.values()) == 1, "an email was delivered twice"
    sent = sends.filter(state=SendState.SENT).count()
    assert sent >= PARTNERS - in_flight_allowed and len(smtp.accepted) <= sent + in_flight_allowed
    accepted_ids = Counter(e["id"] for e in hooks.accepted)
    assert len(accepted_ids) == len(hooks.accepted)
    delivered = Delivery.objects.filter(event__entity=entity, state=DeliveryState.DELIVERED).count()
    assert delivered >= PARTNERS - in_flight_allowed and len(hooks.seen_ids) >= delivered
    return sent, delivered


def test_two_workers_share_a_scheduled_run_for_many_partners(pg, peers, scheduled):
    smtp, port, hooks = peers
    env = env_for(pg, port)
    workers = [subprocess.Popen(leadbill("worker"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]  # fmt: skip
    try:
        tick = subprocess.run(leadbill("scheduler", "--once", "--json"), env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert tick.returncode == 0, tick.stderr
        finished = wait_for(lambda: all_done(scheduled))
        stuck = "" if finished else where_it_stands(scheduled)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert finished, f"the run did not finish in time: {stuck}\n" + "\n".join(out[-3000:] for out in outputs)
    assert all(w.returncode == 0 for w in workers), outputs
    assert all("stopped:" in out for out in outputs), outputs
    done = [int(out.rsplit("stopped: ", 1)[1].split(" done")[0]) for out in outputs]
    print(f"jobs done per worker {done}")
    assert all(n > 0 for n in done), f"one worker did nothing: {done}"
    sent, delivered = assert_each_once(scheduled, smtp, hooks)
    assert (sent, delivered, len(smtp.accepted), len(hooks.accepted)) == (PARTNERS,) * 4


def test_worker_killed_mid_run_and_replaced_leaves_no_duplicate(pg, peers, scheduled):
    smtp, port, hooks = peers
    env = env_for(pg, port)
    first = subprocess.Popen(leadbill("worker"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = None
    try:
        tick = subprocess.run(leadbill("scheduler", "--once"), env=env, capture_output=True, text=True, timeout=120)
        assert tick.returncode == 0, tick.stderr
        assert wait_for(lambda: Invoice.objects.filter(entity=scheduled).count() >= 30, every=0.05)
        first.send_signal(signal.SIGKILL)  # no goodbye: its jobs stay "doing", its heartbeat stops
        first.wait(timeout=10)
        killed_at = Invoice.objects.filter(entity=scheduled).count()
        second = subprocess.Popen(leadbill("worker"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)  # fmt: skip
        # the second worker's periodic tick hands back the dead worker's jobs; nobody runs the scheduler by hand
        assert wait_for(lambda: settled(scheduled)), "the run was not finished"
    finally:
        first.kill() if first.poll() is None else None
        if second is not None:
            second.send_signal(signal.SIGTERM)
            print(second.communicate(timeout=60)[0][-2000:])
    print(f"killed with {killed_at} of {PARTNERS} invoices issued")
    assert killed_at < PARTNERS, "the worker was killed too late to prove anything"
    # everything but what the dead worker held mid-conversation (one per thread at most) got out, once
    sent, delivered = assert_each_once(scheduled, smtp, hooks, in_flight_allowed=CONCURRENCY)
    print(f"{sent} emails sent, {delivered} webhooks delivered, SMTP got {len(smtp.accepted)}")


def test_worker_stopped_with_sigterm_mid_run_finishes_its_jobs_and_loses_nothing(pg, peers, scheduled):
    from procrastinate.contrib.django.models import ProcrastinateJob

    smtp, port, hooks = peers
    env = env_for(pg, port)
    first = subprocess.Popen(leadbill("worker"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = None
    try:
        tick = subprocess.run(leadbill("scheduler", "--once"), env=env, capture_output=True, text=True, timeout=120)
        assert tick.returncode == 0, tick.stderr
        assert wait_for(lambda: Invoice.objects.filter(entity=scheduled).count() >= 20, every=0.05)
        first.send_signal(signal.SIGTERM)
        out = first.communicate(timeout=120)[0]
        assert first.returncode == 0 and "stopped:" in out, out[-2000:]
        stopped_at = Invoice.objects.filter(entity=scheduled).count()
        # nothing held: every job the worker took is finished (succeeded jobs are deleted) or back in the queue
        assert not ProcrastinateJob.objects.filter(status="doing").exists()
        assert not EmailSend.objects.filter(state=SendState.SENDING).exists()
        assert not Delivery.objects.filter(state=DeliveryState.SENDING).exists()
        second = subprocess.Popen(leadbill("worker"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)  # fmt: skip
        assert wait_for(lambda: all_done(scheduled)), "the run was not finished"
    finally:
        first.kill() if first.poll() is None else None
        if second is not None:
            second.send_signal(signal.SIGTERM)
            second.communicate(timeout=60)
    print(f"stopped with {stopped_at} of {PARTNERS} invoices issued")
    assert stopped_at < PARTNERS, "the worker was stopped too late to prove anything"
    sent, delivered = assert_each_once(scheduled, smtp, hooks)
    assert (sent, delivered, len(smtp.accepted), len(hooks.accepted)) == (PARTNERS,) * 4
