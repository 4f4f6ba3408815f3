"""The scheduler with a frozen clock: due runs start once, catch up after downtime, honour overrides."""

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection

from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import Invoice, InvoiceRun, InvoiceRunItem, ItemState, Status
from leadbill.mailing.models import EmailSend, SendState
from leadbill.scheduling.models import ScheduledRun
from leadbill.scheduling.services import describe, next_due, schedule_clear, schedule_set, scheduler_tick
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

MON, FRI, SAT, SUN = 0, 4, 5, 6
ACTOR = "test:finance"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def world(db):
    entity = make_entity(timezone="Europe/Berlin", currency="EUR", invoice_prefix="INV-", credit_note_prefix="CN-")
    partners = []
    for i in range(3):
        partner = make_partner(entity, code=f"buyer-{i}", currency="EUR")
        make_plan(partner, "flat", {"price": "2.00"})
        make_deliveries(partner, 4, utc(2026, 9, 10))  # September
        make_deliveries(partner, 3, utc(2026, 10, 12))  # October, a Monday: ISO week 42
        partners.append(partner)
    return entity, partners


def catch_up(capture):
    """Tick as a scheduler does every 30 s, each run's tasks done at commit, until a tick starts nothing.

    With workers a schedule starts one period per tick, each once the run before it finished;
    the periods started by all the ticks, in order.
    """
    started = []
    while True:
        with capture(execute=True):
            tick = scheduler_tick()
        if not tick.started:
            return started
        started += tick.started


def test_monthly_schedule_runs_each_month_once_on_the_first_at_six(world, frozen, django_capture_on_commit_callbacks):
    entity, _ = world
    frozen(utc(2026, 9, 20))
    schedule = schedule_set(actor=ACTOR, entity=entity, frequency="monthly")
    assert next_due(schedule).at == utc(2026, 10, 1, 4)  # 06:00 CEST

    frozen(utc(2026, 10, 1, 3, 59))
    assert scheduler_tick().started == []
    frozen(utc(2026, 10, 1, 4, 0))
    with django_capture_on_commit_callbacks(execute=True):
        tick = scheduler_tick()
    assert [s.period_key for s in tick.started] == ["2026-09"]
    run = tick.started[0].run
    run.refresh_from_db()
    assert run.finished_at is not None and run.send_email and not run.draft
    invoices = Invoice.objects.filter(run=run)
    assert invoices.count() == 3 and {i.total_minor for i in invoices} == {800}
    assert set(InvoiceRunItem.objects.filter(run=run).values_list("state", flat=True)) == {ItemState.ISSUED}
    # issued and emailed: one send per invoice, delivered
    assert EmailSend.objects.filter(invoice__in=invoices, state=SendState.SENT).count() == 3
    assert len(mail.outbox) == 3

    frozen(utc(2026, 10, 15))
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler_tick().started == []
    assert ScheduledRun.objects.count() == 1 and len(mail.outbox) == 3


def test_scheduler_catches_up_missed_months_oldest_first_and_only_once(
    world, frozen, django_capture_on_commit_callbacks
):
    entity, _ = world
    frozen(utc(2026, 8, 15))
    schedule_set(actor=ACTOR, entity=entity, frequency="monthly", send_email=False)
    frozen(utc(2026, 11, 21, 12))  # down since mid-August
    with django_capture_on_commit_callbacks(execute=True):
        first = scheduler_tick()
    assert [s.period_key for s in first.started] == ["2026-08"]  # its run not finished yet: September waits
    started = first.started + catch_up(django_capture_on_commit_callbacks)
    assert [s.period_key for s in started] == ["2026-08", "2026-09", "2026-10"]
    assert Invoice.objects.filter(entity=entity, period_key="2026-09").count() == 3
    assert Invoice.objects.filter(entity=entity, period_key="2026-10").count() == 3
    assert not Invoice.objects.filter(entity=entity, period_key="2026-08").exists()  # nothing delivered then
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler_tick().started == []
    assert InvoiceRun.objects.filter(entity=entity).count() == 3
    assert EmailSend.objects.count() == 0


def test_weekly_window_run_bills_only_its_window_and_drafts_when_asked(
    world, frozen, django_capture_on_commit_callbacks
):
    entity, _ = world
    frozen(utc(2026, 10, 13))
    schedule_set(actor=ACTOR, entity=entity, frequency="weekly", window_start=(MON, 0), window_end=(MON, 0),
                 generate_at=(MON, 6 * 60), draft=True)  # fmt: skip
    frozen(utc(2026, 10, 19, 4, 30))  # Monday 06:30 CEST
    with django_capture_on_commit_callbacks(execute=True):
        tick = scheduler_tick()
    assert [s.period_key for s in tick.started] == ["2026-W42"]
    drafts = Invoice.objects.filter(entity=entity, period_key="2026-W42")
    assert drafts.count() == 3 and {d.status for d in drafts} == {Status.DRAFT}
    # the window's 3 leads, and September's 4 that no run had billed yet (earlier leads are never lost)
    assert {d.total_minor for d in drafts} == {1400}
    assert not EmailSend.objects.exists()  # drafts are never emailed


def test_partner_override_takes_it_out_of_the_entity_run_into_its_own(
    world, frozen, django_capture_on_commit_callbacks
):
    entity, (_, b, c) = world
    frozen(utc(2026, 9, 20))
    schedule_set(actor=ACTOR, entity=entity, frequency="monthly", send_email=False)
    schedule_set(actor=ACTOR, entity=entity, partner=b, frequency="weekly", window_start=(MON, 0),
                 window_end=(MON, 0), generate_at=(MON, 6 * 60), send_email=False)  # fmt: skip
    schedule_set(actor=ACTOR, entity=entity, partner=c, frequency="manual")
    frozen(utc(2026, 10, 1, 5))
    started = catch_up(django_capture_on_commit_callbacks)
    monthly = next(s for s in started if s.period_key == "2026-09")
    assert set(Invoice.objects.filter(run=monthly.run).values_list("partner__code", flat=True)) == {"buyer-0"}
    weekly_keys = {s.period_key for s in started} - {"2026-09"}
    assert weekly_keys == {"2026-W38", "2026-W39"}  # b's own weeks since 20 September
    # b's September leads were still unbilled: its first own run bills them
    assert list(Invoice.objects.filter(partner=b).values_list("period_key", "total_minor")) == [("2026-W38", 800)]
    assert not Invoice.objects.filter(partner=c).exists()
    schedule_clear(actor=ACTOR, partner=c)
    frozen(utc(2026, 11, 1, 6))
    october = next(s for s in catch_up(django_capture_on_commit_callbacks) if s.period_key == "2026-10")
    assert set(Invoice.objects.filter(run=october.run).values_list("partner__code", flat=True)) == {
        "buyer-0",
        "buyer-2",
    }


def test_changing_a_schedule_does_not_catch_up_under_the_new_rule(world, frozen):
    entity, _ = world
    frozen(utc(2026, 6, 1))
    schedule_set(actor=ACTOR, entity=entity, frequency="manual")
    frozen(utc(2026, 11, 21))
    schedule = schedule_set(actor=ACTOR, entity=entity, frequency="monthly")
    assert schedule.active_from == utc(2026, 11, 21)
    assert scheduler_tick().started == []
    assert describe(schedule)["description"] == "monthly: generated on the 1st at 06:00, issued and emailed"


@pytest.mark.parametrize(
    ("frequency", "change_at", "ticks", "keys", "pending_leads_at"),
    [
        # ISO week generated Monday 08:00; at Monday 9 March 07:00 CET week 10 is over, its run an hour ahead
        ("weekly", utc(2026, 3, 9, 6), [utc(2026, 3, 9, 8), utc(2026, 3, 16, 6)], ["2026-W10", "2026-W11"],
         utc(2026, 3, 3, 12)),
        # the month generated on the 1st at 08:00; at 1 March 07:00 CET February is over, its run an hour ahead
        ("monthly", utc(2026, 3, 1, 6), [utc(2026, 3, 1, 8), utc(2026, 4, 1, 6)], ["2026-02", "2026-03"],
         utc(2026, 2, 24, 12)),
    ],
)  # fmt: skip
def test_moving_the_generation_time_earlier_still_makes_the_period_pending(
    db, frozen, django_capture_on_commit_callbacks, frequency, change_at, ticks, keys, pending_leads_at
):
    entity = make_entity(timezone="Europe/Berlin", currency="EUR")
    partner = make_partner(entity, currency="EUR")
    make_plan(partner, "flat", {"price": "2.00"})
    make_deliveries(partner, 2, pending_leads_at)
    make_deliveries(partner, 3, utc(2026, 3, 10, 12))  # in the period after: week 11, March
    frozen(utc(2026, 1, 20))
    schedule_set(actor=ACTOR, entity=entity, frequency=frequency, generate_at=(MON, 8 * 60), send_email=False)
    frozen(change_at - timedelta(days=5))
    made_before = [s.pk for s in catch_up(django_capture_on_commit_callbacks)]  # the periods before, under 08:00
    assert made_before
    frozen(change_at)
    schedule_set(actor=ACTOR, entity=entity, frequency=frequency, generate_at=(MON, 6 * 60), send_email=False)
    for at in ticks:
        frozen(at)
        catch_up(django_capture_on_commit_callbacks)
    catch_up(django_capture_on_commit_callbacks)  # one tick more starts nothing again
    made_after = ScheduledRun.objects.exclude(pk__in=made_before).order_by("due_at")
    assert list(made_after.values_list("period_key", flat=True)) == keys  # none of the earlier periods again
    # each period billed once, with its own leads: none pushed a period late
    billed = Invoice.objects.filter(partner=partner).order_by("pk").values_list("period_key", "total_minor")
    assert list(billed) == [(keys[0], 400), (keys[1], 600)]


def test_window_ending_in_the_skipped_hour_starts_when_it_ends_not_at_the_earlier_wall_time(
    db, frozen, django_capture_on_commit_callbacks
):
    entity = make_entity(timezone="America/New_York", currency="USD")
    frozen(utc(2026, 3, 5))
    # window Sunday 02:45 to Sunday 02:45, generated Sunday 03:00; on 8 March 2026 02:45 is skipped (03:45 EDT)
    schedule_set(actor=ACTOR, entity=entity, frequency="weekly", window_start=(SUN, 165), window_end=(SUN, 165),
                 generate_at=(SUN, 180))  # fmt: skip
    frozen(utc(2026, 3, 8, 7, 0, 30))  # 03:00:30 EDT: the wall-clock generation time passed, the window is open
    with django_capture_on_commit_callbacks(execute=True):
        tick = scheduler_tick()
    assert (tick.started, tick.failed) == ([], {})
    frozen(utc(2026, 3, 8, 7, 45))  # 03:45 EDT, the window's end
    with django_capture_on_commit_callbacks(execute=True):
        tick = scheduler_tick()
    assert [s.period_key for s in tick.started] == ["2026-03-01T02:45..2026-03-08T02:45"]


def test_a_schedule_whose_run_is_refused_does_not_stop_the_tick_for_another_entity(
    db, frozen, monkeypatch, django_capture_on_commit_callbacks
):
    from leadbill.invoicing import services as invoicing

    refused, other = make_entity(currency="EUR"), make_entity(currency="EUR")
    frozen(utc(2026, 9, 20))
    bad = schedule_set(actor=ACTOR, entity=refused, frequency="monthly")
    schedule_set(actor=ACTOR, entity=other, frequency="monthly")
    real_start = invoicing.invoice_run_start

    def start_refusing_one_entity(**kw):
        if kw["entity"] == refused:
            raise DomainError("refused for this test", field="period")
        return real_start(**kw)

    monkeypatch.setattr(invoicing, "invoice_run_start", start_refusing_one_entity)
    frozen(utc(2026, 10, 1, 4))
    with django_capture_on_commit_callbacks(execute=True):
        tick = scheduler_tick()
    assert [(s.schedule.entity, s.period_key) for s in tick.started] == [(other, "2026-09")]
    assert tick.failed == {bad.pk: "period: refused for this test"}
    assert "email" in tick.swept  # the sweep ran after the refusal
    assert not ScheduledRun.objects.filter(schedule=bad).exists()  # nothing of the refused attempt remains
    monkeypatch.setattr(invoicing, "invoice_run_start", real_start)
    with django_capture_on_commit_callbacks(execute=True):
        tick = scheduler_tick()  # the next tick tries the refused schedule again
    assert [(s.schedule.entity, s.period_key) for s in tick.started] == [(refused, "2026-09")]


def test_refused_weekly_window_saves_nothing(world):
    entity, _ = world
    with pytest.raises(DomainError, match="ends Sunday 23:59, after the generation time Sunday 22:00"):
        schedule_set(actor=ACTOR, entity=entity, frequency="weekly", window_start=(MON, 0),
                     window_end=(SUN, 23 * 60 + 59), generate_at=(SUN, 22 * 60))  # fmt: skip
    assert not entity.schedules.exists()


TICKER = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
    import django
    django.setup()
    from unittest import mock
    from datetime import datetime, UTC
    from django.db import connection
    from leadbill.scheduling.services import scheduler_tick
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    with connection.cursor() as c:  # both processes wait here, then tick at the same moment
        c.execute("SELECT pg_advisory_lock_shared(4242)")
        c.execute("SELECT pg_advisory_unlock_shared(4242)")
    with mock.patch("django.utils.timezone.now", return_value=now):
        tick = scheduler_tick()
    print(len(tick.started), tick.lost_races)
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_start_one_run_per_period(frozen):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    entity = make_entity(timezone="UTC", currency="EUR", invoice_prefix="R-", credit_note_prefix="RC-")
    for i in range(20):
        partner = make_partner(entity, code=f"race-{i:02d}", currency="EUR")
        make_plan(partner, "flat", {"price": "1.00"})
        make_deliveries(partner, 2, utc(2026, 9, 3))
        make_deliveries(partner, 2, utc(2026, 10, 3))
    frozen(utc(2026, 8, 20))
    schedule_set(actor=ACTOR, entity=entity, frequency="monthly", send_email=False)
    s = connection.settings_dict
    url = f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(4242)")
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", TICKER],
                env={**os.environ, "DATABASE_URL": url},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        import time

        time.sleep(1.5)  # both are waiting on the lock
        cursor.execute("SELECT pg_advisory_unlock(4242)")
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    counts = [tuple(map(int, out.split())) for out, _ in outputs]
    print("started, lost races per scheduler:", counts)
    assert sum(c[0] for c in counts) == 3  # August, September, October: once each, between the two
    assert sorted(ScheduledRun.objects.values_list("period_key", flat=True)) == ["2026-08", "2026-09", "2026-10"]
    assert InvoiceRun.objects.filter(entity=entity).count() == 3
    assert Invoice.objects.filter(entity=entity).count() == 40
    assert sorted(Invoice.objects.filter(entity=entity).values_list("sequence", flat=True)) == list(range(1, 41))


def test_sweep_queues_again_a_run_whose_task_was_lost(world, frozen, django_capture_on_commit_callbacks):
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_start
    from leadbill.scheduling.services import runs_sweep

    entity, _ = world
    start = frozen(utc(2026, 11, 21, 9))
    run = invoice_run_start(actor=ACTOR, entity=entity, period=periods.month(2026, 10, "Europe/Berlin"))
    # its on-commit enqueue never ran (the test transaction does not commit): as if the queue lost it
    frozen(start + timedelta(minutes=9))
    assert runs_sweep(start + timedelta(minutes=9)) == 0  # not stalled yet
    frozen(start + timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert runs_sweep(start + timedelta(minutes=11)) == 1
    run.refresh_from_db()
    assert run.finished_at is not None and Invoice.objects.filter(run=run).count() == 3
    assert runs_sweep(start + timedelta(hours=1)) == 0
