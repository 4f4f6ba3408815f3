"""Self-invoices made after the fact (an opt-in's catch-up, staff's Generate) never change what is or was paid."""

from __future__ import annotations

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import StateError
from leadbill.payment_files import services as pf
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from tests.payouts.conftest import ACTOR, COMPLETE, MAIN, compute, opt_in, ready


def _ready_in_a_file(world):
    """A ready payout without a self-invoice (the supplier had not opted in), in a SEPA file at its net."""
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    world.entity.refresh_from_db()
    payout = ready(compute(world))
    sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details=COMPLETE, tax_rate="19")
    file = pf.payment_file_create(actor=ACTOR, entity=world.entity, kind="sepa", payout_ids=[payout.pk])
    return payout, file


def test_opting_in_leaves_a_payout_in_an_unsent_payment_file_as_the_file_pays_it(world):
    payout, file = _ready_in_a_file(world)
    sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True)  # the catch-up
    payout.refresh_from_db()
    assert not SelfBilledDocument.objects.filter(payout=payout).exists()
    assert (payout.tax_minor, payout.total_minor) == (0, 13_250) == (0, file.total_minor)
    assert payout.self_billing.startswith(f"The payout is in payment file {file.message_id}, not yet sent")
    caught = AuditEvent.objects.get(action="self_invoice.caught_up", object_id=str(payout.pk))
    assert caught.data["numbers"] == [] and file.message_id in caught.data["reason"]
    pf.payment_file_mark_sent(actor=ACTOR, file=file)  # the bank moves what the payout records as paid
    payout.refresh_from_db()
    assert (payout.status, payout.total_minor) == ("paid", file.total_minor)
    assert (
        payout.self_billing
        == f"Paid by payment file {file.message_id} at the total it carried, before any self-invoice."
    )


def test_generate_is_refused_for_a_payout_in_an_unsent_payment_file_naming_the_file(world):
    payout, file = _ready_in_a_file(world)
    sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True)
    with pytest.raises(StateError, match=f"in payment file {file.message_id}, not yet sent"):
        sbs.self_billing_generate(actor=ACTOR, payout=payout)
    assert not SelfBilledDocument.objects.filter(payout=payout).exists()
    pf.payment_file_cancel(actor=ACTOR, file=file, reason="rebuild with the self-invoice")
    assert Payout.objects.get(pk=payout.pk).self_billing.startswith(f"Payment file {file.message_id} was cancelled")
    (doc,) = sbs.self_billing_generate(actor=ACTOR, payout=payout)  # freed: generated at its new total
    assert Payout.objects.get(pk=payout.pk).total_minor == doc.total_minor == 15_768


def test_generate_on_a_paid_payout_that_would_change_what_was_paid_is_refused(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    payout = ready(compute(world))
    s.payout_transition(actor=ACTOR, payout=payout, to="paid", reference="WIRE1")
    opt_in(world)  # 19 %: a self-invoice would add 25.18 EUR that was never paid
    with pytest.raises(StateError, match=r"was paid 132\.50 EUR \(tax 0\.00\); a self-invoice now would total 157\.68"):
        sbs.self_billing_generate(actor=ACTOR, payout=payout)
    payout.refresh_from_db()
    assert (payout.status, payout.tax_minor, payout.total_minor) == ("paid", 0, 13_250)
    assert not SelfBilledDocument.objects.filter(payout=payout).exists()
    assert not AuditEvent.objects.filter(action="self_invoice.issued").exists()


def test_generate_on_a_paid_payout_whose_self_invoice_totals_what_was_paid_issues_it(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    payout = ready(compute(world))
    s.payout_transition(actor=ACTOR, payout=payout, to="paid", reference="WIRE1")
    opt_in(world, tax_rate="")  # outside VAT: the self-invoice totals exactly what was paid
    (doc,) = sbs.self_billing_generate(actor=ACTOR, payout=payout)
    payout.refresh_from_db()
    assert (payout.status, payout.tax_minor, payout.total_minor) == ("paid", 0, 13_250) == ("paid", 0, doc.total_minor)
