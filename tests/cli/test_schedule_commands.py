"""`leadbill schedule`: what it prints says whether any scheduler will keep the "next run" it promises."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadbill.cli.main import main
from leadbill.scheduling.models import SchedulerHeartbeat
from tests.factories import make_entity

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def entity():
    return make_entity(slug="acme", timezone="America/New_York", currency="USD", invoice_prefix="A-")


def test_setting_a_schedule_with_no_scheduler_says_none_runs_and_how_to_start_one(entity, capsys):
    assert main(["schedule", "set", "monthly", "--entity", "acme"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "next run: period" in out
    assert "no scheduler is running (never ticked" in out
    assert "leadbill scheduler --once" in out


def test_show_names_the_last_tick_of_a_live_scheduler_in_the_entitys_zone(entity, capsys):
    assert main(["schedule", "set", "monthly", "--entity", "acme"]) == 0
    at = timezone.now() - timedelta(minutes=2)
    SchedulerHeartbeat.objects.create(last_tick_at=at, host="web-1:4242", ticks=3)
    capsys.readouterr()
    assert main(["schedule", "show", "--entity", "acme"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no scheduler is running" not in out
    assert "scheduler: last tick" in out and "web-1:4242" in out and ("EST" in out or "EDT" in out)


def test_a_scheduler_silent_too_long_is_reported_as_not_running(entity, capsys):
    SchedulerHeartbeat.objects.create(last_tick_at=timezone.now() - timedelta(hours=2), host="web-1:4242", ticks=9)
    assert main(["schedule", "show", "--entity", "acme"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no scheduler is running (last tick" in out and "silent over 15 minutes" in out
