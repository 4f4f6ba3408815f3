"""The scheduler's heartbeat, partner cycles and weekly windows as the console offers them, and what the picker reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.http import QueryDict

from leadbill.console.runs_support import anomaly_links, pick_period
from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.loader.services import setup_load, setup_read
from leadbill.scheduling.models import SchedulerHeartbeat
from leadbill.scheduling.selectors import SCHEDULER_SILENT_AFTER, partner_cycle, scheduler_status, weekly_windows
from leadbill.scheduling.services import schedule_set, scheduler_tick
from tests.factories import make_entity, make_partner
from tests.loader.helpers import minimal

NOW = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def entity(db):
    return make_entity(slug="unit", timezone="America/New_York", currency="USD")


def test_each_tick_records_the_heartbeat(entity):
    never = scheduler_status(NOW)
    assert not never.alive and never.last_tick_at is None
    scheduler_tick(now=NOW)
    scheduler_tick(now=NOW + timedelta(seconds=30))
    beat = SchedulerHeartbeat.objects.get()
    assert beat.ticks == 2 and beat.last_tick_at == NOW + timedelta(seconds=30) and ":" in beat.host
    assert scheduler_status(NOW + timedelta(minutes=1)).alive
    late = NOW + timedelta(seconds=30) + SCHEDULER_SILENT_AFTER + timedelta(seconds=1)
    status = scheduler_status(late)
    assert not status.alive and status.last_tick_at == NOW + timedelta(seconds=30)


def test_a_partner_follows_the_entity_until_it_has_its_own_cycle(entity):
    partner = make_partner(entity, code="p1")
    assert partner_cycle(partner).description == "manual only"
    schedule_set(actor="t", entity=entity, frequency="monthly")
    followed = partner_cycle(partner)
    assert followed.own is None and followed.description.startswith("monthly") and followed.due is not None
    schedule_set(actor="t", entity=entity, partner=partner, frequency="weekly", window_start=(4, 1080),
                 window_end=(4, 1080), generate_at=(5, 360))  # fmt: skip
    own = partner_cycle(partner)
    assert own.own is not None and own.description.startswith("weekly: window Friday 18:00")


def test_weekly_windows_offer_the_one_under_way_then_the_ended_ones_newest_first(entity):
    partner = make_partner(entity, code="p1", name="Friday Buyer")
    schedule_set(actor="t", entity=entity, partner=partner, frequency="weekly", window_start=(4, 1080),
                 window_end=(4, 1080), generate_at=(5, 360))  # fmt: skip
    windows = weekly_windows(entity, NOW, count=3)
    assert [w.period.key for w in windows] == [
        "2026-10-16T18:00..2026-10-23T18:00",  # under way on Wednesday the 21st
        "2026-10-09T18:00..2026-10-16T18:00",
        "2026-10-02T18:00..2026-10-09T18:00",
    ]
    assert {w.partner_code for w in windows} == {"p1"} and windows[1].value == "p1|2026-10-09T18:00..2026-10-16T18:00"
    assert weekly_windows(make_entity(slug="none", timezone="UTC"), NOW) == []
    # Saturday 03:00 New York: last night's window has ended, its run comes at 06:00; both are offered
    early = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)
    assert [w.period.key for w in weekly_windows(entity, early, count=2)] == [
        "2026-10-23T18:00..2026-10-30T18:00",
        "2026-10-16T18:00..2026-10-23T18:00",
    ]


def test_the_picker_reads_each_kind_and_names_the_wrong_field(entity):
    def pick(**params):
        q = QueryDict(mutable=True)
        q.update(params)
        return pick_period(entity, q)

    assert pick(kind="month", month="2026-09").period == periods.month(2026, 9, entity.timezone)
    assert pick(kind="week", week="2026-W42").period.first_day == date(2026, 10, 12)
    assert pick(period="2026-10-01..2026-10-15").period.key == "2026-10-01..2026-10-15"
    assert pick(kind="range", **{"from": "2026-10-15", "to": "2026-10-01"}).problems == {
        "to": "the range ends before it starts"
    }
    assert "at most 366 days" in pick(kind="range", **{"from": "2024-01-01", "to": "2026-01-01"}).problems["to"]
    assert pick(kind="range", **{"from": "2026-13-01", "to": "2026-10-01"}).problems == {
        "from": "give a date as YYYY-MM-DD"
    }
    assert pick(kind="week", week="").problems == {"week": "choose a period"}
    assert pick(kind="window", window="ghost|2026-10-09T18:00..2026-10-16T18:00").problems == {
        "window": "no partner 'ghost'"
    }
    assert pick(kind="year").problems == {"kind": "choose one of: month, week, window, range"}


def test_anomalies_link_to_the_deliveries_or_documents_behind_them(entity):
    period = periods.month(2026, 3, entity.timezone)
    links = anomaly_links(entity, period, "p1", [
        "3 over cap on 2026-03-04 (daily cap 10)",
        "12 over cap on week of 2026-03-09 (weekly cap 100)",
        "4 late deliveries of earlier periods (billed as prior-period lines)",
        "2 deliveries not in USD (not billed)",
        "same lead delivered again 2\u00d7",
        "5 leads come back from voided US-000021 (billed again)",
        "credit limit would be exceeded",
    ])  # fmt: skip
    log = "/console/unit/deliveries/?partner=p1"
    assert [a.url for a in links] == [
        f"{log}&from=2026-03-04&to=2026-03-04",
        f"{log}&from=2026-03-09&to=2026-03-15",
        f"{log}&to=2026-02-28&status=unbilled",
        f"{log}&from=2026-03-01&to=2026-03-31&status=unbilled",
        f"{log}&from=2026-03-01&to=2026-03-31",
        "/console/unit/invoices/US-000021/",
        "/console/unit/partners/p1/#receivables",
    ]


def test_the_setup_file_sets_issue_and_send_and_leaves_it_alone_when_absent(db):
    setup_load(actor="t", document=setup_read(minimal(entity_extra="    issue_and_send: true")))
    assert Entity.objects.get(slug="unit").issue_and_send
    setup_load(actor="t", document=setup_read(minimal()))  # not in the file: the console's choice stays
    assert Entity.objects.get(slug="unit").issue_and_send
    setup_load(actor="t", document=setup_read(minimal(entity_extra="    issue_and_send: false")))
    assert not Entity.objects.get(slug="unit").issue_and_send
