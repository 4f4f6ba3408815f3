"""A background run whose workers vanished goes stale: failed with its pending partners, and the period runs again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.invoicing.models import Invoice, InvoiceRunItem, ItemState
from leadbill.invoicing.services import invoice_run_start, runs_mark_stale
from leadbill.invoicing.tasks import invoice_run_chunk_task, invoice_run_task
from tests.factories import make_deliveries, make_plan

pytestmark = pytest.mark.django_db

START = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def billed(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 3, datetime(2026, 1, 5, tzinfo=UTC))
    return entity, buyer, jan


def test_a_background_run_left_pending_is_failed_stale_and_the_period_runs_again(
    billed, frozen, django_capture_on_commit_callbacks
):
    entity, buyer, jan = billed
    frozen(START)
    run = invoice_run_start(actor="test", entity=entity, period=jan)
    invoice_run_task.call(run.pk)  # the coordinator lists the partner; its chunk never runs (worker killed)
    assert InvoiceRunItem.objects.get(run=run).state == ItemState.PENDING

    frozen(START + timedelta(minutes=29))
    assert runs_mark_stale(START + timedelta(minutes=29)) == []
    frozen(START + timedelta(minutes=31))
    (stale,) = runs_mark_stale(START + timedelta(minutes=31))
    assert stale.pk == run.pk and stale.state == "failed (stale)"
    item = InvoiceRunItem.objects.get(run=run)
    assert item.state == ItemState.FAILED and "stale" in item.error
    assert stale.summary["failures"] == {buyer.code: "not issued: the run went stale"}
    assert stale.summary["queued"] is False
    assert AuditEvent.objects.filter(action="invoice_run.failed_stale", object_id=str(run.pk)).count() == 1

    invoice_run_chunk_task.call(run.pk, [buyer.pk])  # the lost chunk turning up late does nothing
    assert not Invoice.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        again = invoice_run_start(actor="test", entity=entity, period=jan)
    again.refresh_from_db()
    assert again.state == "finished" and Invoice.objects.get().run_id == again.pk
