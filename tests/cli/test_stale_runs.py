"""A killed `run issue` is not left running forever: it goes stale, is marked failed, and the period runs again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.cli.main import main
from leadbill.invoicing import services
from leadbill.invoicing.models import Invoice, InvoiceRun
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
ISSUE = ["run", "issue", "--entity", "acme", "--period", "2026-01", "--issue-date", "2026-02-02"]


@pytest.fixture
def two_partners():
    entity = make_entity(slug="acme", timezone="UTC", currency="USD", invoice_prefix="A-", credit_note_prefix="A-CN-")
    for code in ("blue", "green"):
        partner = make_partner(entity, code=code, currency="USD")
        make_plan(partner, "flat", {"price": "2.50"})
        make_deliveries(partner, 2, datetime(2026, 1, 5, tzinfo=UTC))
    return entity


def kill_after_first_partner(monkeypatch):
    """The process dies (SIGINT-like) while issuing the second partner: the first is committed, the run open."""
    original = services._issue_batch

    def dying(actor, entity, period, batch, *args, **kwargs):
        if len(batch) > 1:
            raise RuntimeError("batch fails: each partner alone")
        if batch[0].code == "green":
            raise KeyboardInterrupt
        return original(actor, entity, period, batch, *args, **kwargs)

    monkeypatch.setattr(services, "_issue_batch", dying)
    return original


def test_a_killed_issue_goes_stale_is_failed_and_the_period_runs_again(two_partners, frozen, monkeypatch, capsys):
    frozen(START)
    original = kill_after_first_partner(monkeypatch)
    assert main(ISSUE) != 0  # interrupted
    killed = InvoiceRun.objects.get()
    assert killed.finished_at is None
    assert list(Invoice.objects.values_list("partner__code", flat=True)) == ["blue"]
    monkeypatch.setattr(services, "_issue_batch", original)
    capsys.readouterr()

    frozen(START + timedelta(minutes=10))  # not stale yet: still shown running, nothing marked
    assert services.runs_mark_stale(START + timedelta(minutes=10)) == []
    assert main(["run", "list", "--entity", "acme"]) == 0
    assert "running" in capsys.readouterr().out

    frozen(START + timedelta(minutes=31))
    assert main([*ISSUE, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["skipped_already_invoiced"] == ["blue"] and again["issued"] == ["A-000002"]
    assert sorted(Invoice.objects.values_list("partner__code", flat=True)) == ["blue", "green"]

    killed.refresh_from_db()
    assert killed.finished_at == START + timedelta(minutes=31)
    assert killed.summary["stale"] is True and killed.summary["status"] == "failed"
    assert killed.summary["issued"] == ["A-000001"]
    (event,) = AuditEvent.objects.filter(action="invoice_run.failed_stale")
    assert event.object_id == str(killed.pk)

    assert main(["run", "list", "--entity", "acme"]) == 0
    listing = capsys.readouterr().out
    assert "failed (stale)" in listing and "finished" in listing
    assert main(["run", "show", str(killed.pk)]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "failed (stale)" in shown and "run the period again" in shown
    assert main(["run", "show", str(killed.pk), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "failed (stale)"


def test_the_stale_bound_is_a_setting(two_partners, frozen, monkeypatch, settings):
    settings.LEADBILL_STALE_RUN_MINUTES = 5
    frozen(START)
    kill_after_first_partner(monkeypatch)
    main(ISSUE)
    assert services.runs_mark_stale(START + timedelta(minutes=4)) == []
    (run,) = services.runs_mark_stale(START + timedelta(minutes=6))
    assert run.summary["stale"] and services.runs_mark_stale(START + timedelta(minutes=7)) == []


def test_the_scheduler_tick_fails_a_killed_cli_run_and_never_requeues_it(two_partners, frozen, monkeypatch):
    from leadbill.scheduling.services import scheduler_tick

    frozen(START)
    original = kill_after_first_partner(monkeypatch)
    main(ISSUE)
    monkeypatch.setattr(services, "_issue_batch", original)
    run = InvoiceRun.objects.get()

    frozen(START + timedelta(minutes=15))  # "stalled" for the background sweep, but a CLI run has no task
    tick = scheduler_tick(now=START + timedelta(minutes=15))
    assert tick.swept["runs"] == 0 and tick.swept["stale_runs"] == []
    assert Invoice.objects.count() == 1  # nothing issued it behind the operator's back

    frozen(START + timedelta(minutes=31))
    tick = scheduler_tick(now=START + timedelta(minutes=31))
    assert tick.swept["stale_runs"] == [run.pk]
    run.refresh_from_db()
    assert run.state == "failed (stale)"
