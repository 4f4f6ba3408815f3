"""Deemed acceptance with a frozen clock: the scheduler's sweep accepts what its period left unanswered, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import StateError
from leadbill.scheduling.services import scheduler_tick
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.webhooks.models import Event
from tests.payouts.conftest import NOVEMBER, supply
from tests.selfbilling.making import OWNER, hooks, self_invoiced

ISSUED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_silence_past_the_period_is_deemed_acceptance_on_the_next_tick_and_only_once(world, frozen):
    hooks(world.entity)
    frozen(ISSUED)
    doc = self_invoiced(world, days=5)
    due = ISSUED + timedelta(days=5)
    assert doc.acceptance_due_at == due
    frozen(due - timedelta(seconds=1))
    assert scheduler_tick().swept["self_invoices_deemed"] == 0
    assert SelfBilledDocument.objects.get(pk=doc.pk).acceptance == "pending"
    frozen(due + timedelta(minutes=3))
    assert scheduler_tick().swept["self_invoices_deemed"] == 1
    doc.refresh_from_db()
    assert (doc.acceptance, doc.acceptance_at, doc.acceptance_by, doc.acceptance_via) == (
        "deemed", due, "system:self-billing", "system",
    )  # fmt: skip
    assert scheduler_tick().swept["self_invoices_deemed"] == 0  # a second tick finds nothing
    (row,) = AuditEvent.objects.filter(action="self_invoice.accepted", object_id=str(doc.pk))
    assert row.data["deemed"] is True and row.actor == "system:self-billing"
    (event,) = Event.objects.filter(type="self_invoice.accepted")
    assert event.payload["deemed"] is True and event.payload["acceptance"] == {
        "state": "accepted", "deemed": True, "due_at": due.isoformat(), "at": due.isoformat(),
        "by": "system:self-billing", "via": "system", "address": None, "reason": None,
    }  # fmt: skip
    # once deemed accepted it stays so: accepting changes nothing, disputing is too late
    assert sbs.self_invoice_accept(actor="portal:owner", doc=doc, decider=OWNER).acceptance == "deemed"
    with pytest.raises(StateError, match="deemed accepted on 2026-11-07"):
        sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="late")


def test_the_sweep_leaves_answered_and_reversed_documents_alone(world, frozen):
    frozen(ISSUED)
    accepted = self_invoiced(world, days=5)
    sbs.self_invoice_accept(actor="portal:owner", doc=accepted, decider=OWNER)
    supply(world.supplier, world.buyer, 3, datetime(2026, 11, 3, 9, tzinfo=UTC))
    disputed = self_invoiced(world, days=5, period=NOVEMBER)
    sbs.self_invoice_dispute(actor="portal:owner", doc=disputed, decider=OWNER, reason="wrong")
    frozen(ISSUED + timedelta(days=30))
    assert sbs.self_invoices_deem() == []
    states = dict(SelfBilledDocument.objects.filter(role="invoice").values_list("pk", "acceptance"))
    assert states == {accepted.pk: "accepted", disputed.pk: "disputed"}


def test_two_sweeps_at_once_deem_each_document_once(world, frozen):
    """The conditional update is the guard: a sweep that lost the race to another changes nothing."""
    frozen(ISSUED)
    doc = self_invoiced(world, days=5)
    later = frozen(ISSUED + timedelta(days=6))
    first, second = sbs.self_invoices_deem(later), sbs.self_invoices_deem(later)
    assert (first, second) == ([doc.pk], [])
    assert AuditEvent.objects.filter(action="self_invoice.accepted").count() == 1
