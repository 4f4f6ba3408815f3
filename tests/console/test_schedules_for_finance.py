"""Schedules from the console for finance: the entity's, each partner's own cycle, issue-and-send, the heartbeat."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.utils import timezone

from leadbill.audit.models import AuditEvent
from leadbill.entities.models import Entity
from leadbill.scheduling.models import Schedule, SchedulerHeartbeat
from leadbill.scheduling.services import schedule_set
from tests.webworld import STAFF, Site

AUTOMATION = "/console/leadco/automation/"


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_finance_opens_automation_and_sets_the_schedule_but_not_admin_matters(site: Site, finance):
    page = finance.get(AUTOMATION)
    assert page.status_code == 200
    body = text(page)
    assert "Billing schedule" in body and "Issue and send" in body
    assert "Webhooks" not in body and "Save email settings" not in body  # admin matters, secrets included
    response = finance.post(AUTOMATION + "schedule/", {"frequency": "monthly", "generate_time": "07:30",
                                                       "send_email": "on"})  # fmt: skip
    assert response.status_code == 302
    schedule = Schedule.objects.get(entity=site.entity, partner=None)
    assert (schedule.frequency, schedule.generate_minute, schedule.send_email) == ("monthly", 450, True)
    assert finance.post(AUTOMATION + "email/", {"subject_template": "x", "body_template": "y"}).status_code == 403
    assert finance.post(AUTOMATION + "webhooks/", {"url": "https://x.example/"}).status_code == 403
    readonly = text(site.login(STAFF["readonly"]).get(AUTOMATION))
    assert "Monthly: generated on the 1st at 07:30" in readonly and "Save schedule" not in readonly


def test_an_invalid_schedule_keeps_what_was_typed_and_shows_the_error(site: Site, finance):
    typed = {"frequency": "weekly", "start_day": "4", "start_time": "18:00", "end_day": "4", "end_time": "18:00",
             "generate_day": "5", "generate_time": "25:00", "draft": "on"}  # fmt: skip
    page = finance.post(AUTOMATION + "schedule/", typed)
    assert page.status_code == 400
    body = text(page)
    assert "Schedule not saved: '25:00' is not a time of day (00:00 to 23:59)" in body
    assert 'id="generate_time" name="generate_time" value="25:00"' in body
    assert (
        '<option value="4" selected>Friday</option>' in body and '<option value="5" selected>Saturday</option>' in body
    )
    assert 'name="draft" checked' in body and '<option value="weekly" selected>' in body
    assert not Schedule.objects.exists()


def test_weekly_fields_are_marked_to_hide_for_monthly_and_monthly_needs_none_of_them(site: Site, finance):
    body = text(finance.get(AUTOMATION))
    assert '<fieldset data-show-if="frequency=weekly">' in body
    assert 'data-show-if="frequency=weekly"><label for="generate_day">' in body
    # the browser leaves the hidden weekly fields out of the form: monthly saves without them
    assert finance.post(AUTOMATION + "schedule/", {"frequency": "monthly", "generate_time": "06:00"}).status_code == 302
    assert Schedule.objects.get(entity=site.entity).frequency == "monthly"


def test_manual_keeps_the_hidden_boxes_as_they_were(site: Site, finance):
    schedule_set(actor="t", entity=site.entity, frequency="monthly", draft=True, send_email=False)
    finance.post(AUTOMATION + "schedule/", {"frequency": "manual"})
    schedule = Schedule.objects.get(entity=site.entity)
    assert (schedule.frequency, schedule.draft, schedule.send_email) == ("manual", True, False)


def test_finance_gives_a_partner_its_own_weekly_cycle_on_the_partner_page(site: Site, finance):
    page = text(finance.get("/console/leadco/partners/acme/"))
    assert "Billing cycle" in page and "Manual only" in page and "Follow the entity's schedule" in page
    url = "/console/leadco/partners/acme/cycle/"
    weekly = {"frequency": "weekly", "start_day": "4", "start_time": "18:00", "end_day": "4", "end_time": "18:00",
              "generate_day": "5", "generate_time": "06:00", "send_email": "on"}  # fmt: skip
    assert finance.post(url, weekly).status_code == 302
    schedule = Schedule.objects.get(partner=site.acme)
    assert (schedule.window_start_day, schedule.window_start_minute, schedule.generate_day) == (4, 1080, 5)
    page = text(finance.get("/console/leadco/partners/acme/"))
    assert "Weekly: window Friday 18:00 to Friday 18:00, generated Saturday 06:00" in page and "own cycle" in page
    assert AuditEvent.objects.filter(action="schedule.set", data__partner="acme").exists()
    bad = finance.post(url, {**weekly, "generate_day": "3"})  # Thursday: before the window ends
    assert bad.status_code == 400 and "Billing cycle not saved" in text(bad)
    assert '<option value="3" selected>Thursday</option>' in text(bad)
    assert Schedule.objects.get(partner=site.acme).generate_day == 5
    finance.post(url, {"frequency": "follow"})
    assert not Schedule.objects.filter(partner=site.acme).exists()
    assert site.login(STAFF["readonly"]).post(url, weekly).status_code == 403


def test_issue_and_send_is_set_on_the_automation_page_and_audited(site: Site, finance):
    finance.post(AUTOMATION + "issue-and-send/", {"issue_and_send": "on"})
    assert Entity.objects.get(pk=site.entity.pk).issue_and_send
    finance.post(AUTOMATION + "issue-and-send/", {})
    assert not Entity.objects.get(pk=site.entity.pk).issue_and_send
    assert [e.data["on"] for e in AuditEvent.objects.filter(action="entity.issue_and_send").order_by("pk")] == [
        True,
        False,
    ]


def test_next_run_warns_when_no_scheduler_has_ticked_recently(site: Site, finance):
    schedule_set(actor="t", entity=site.entity, frequency="monthly")
    body = text(finance.get(AUTOMATION))
    assert "No scheduler is running" in body and "leadbill scheduler" in body and "none has ever ticked" in body
    assert "only if a scheduler is running" in body
    assert "No scheduler is running" in text(finance.get("/console/leadco/runs/"))
    SchedulerHeartbeat.objects.create(last_tick_at=timezone.now() - timedelta(hours=2), host="h:1", ticks=3)
    assert "No scheduler is running" in text(finance.get(AUTOMATION)) and "last tick" in text(finance.get(AUTOMATION))
    SchedulerHeartbeat.objects.update(last_tick_at=timezone.now())
    body = text(finance.get(AUTOMATION))
    assert "No scheduler is running" not in body and "Scheduler running: last tick" in body


def test_no_warning_when_nothing_is_scheduled(site: Site, finance):
    assert "No scheduler is running" not in text(finance.get(AUTOMATION))


def test_automation_page_runs_a_fixed_number_of_queries(site: Site, finance):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadbill.scheduling.models import ScheduledRun
    from tests.factories import make_partner

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert finance.get(AUTOMATION).status_code == 200
        return len(ctx.captured_queries)

    schedule_set(actor="t", entity=site.entity, frequency="monthly")
    few = queries()
    for n in range(15):
        partner = make_partner(site.entity, code=f"weekly-{n}")
        own = schedule_set(actor="t", entity=site.entity, partner=partner, frequency="weekly",
                           window_start=(0, 0), window_end=(0, 0), generate_at=(0, 360))  # fmt: skip
        ScheduledRun.objects.create(schedule=own, period_key=f"2026-W{n + 1:02d}", due_at=timezone.now())
    assert queries() == few
