"""Where the entity pays only accepted self-invoices, a payment file names the payouts still waiting."""

from __future__ import annotations

from datetime import date

import pytest

from leadbill.entities.models import Entity
from leadbill.payment_files import services as pf
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.acceptance import PORTAL, Decider, self_invoice_accept
from tests.payment_files.conftest import ACTOR, ready_payout, supplier
from tests.payouts.conftest import COMPLETE, MAIN

SUPPLIER = Decider(by="owner@leadgarden.example", via=PORTAL, address="203.0.113.7")


@pytest.fixture
def billed(eur):
    """One payout of the EUR world with a self-invoice that waits for the supplier's acceptance."""
    sbs.self_billing_switch(actor=ACTOR, entity=eur.entity, on=True)
    eur.entity.refresh_from_db()
    partner = supplier(eur.entity, "billed", {**COMPLETE}, tax_rate="19")
    sbs.self_billing_opt_in(actor=ACTOR, partner=partner, signer=MAIN, accepted=True)
    return ready_payout(partner, "80.00")


def require(entity: Entity) -> None:
    Entity.objects.filter(pk=entity.pk).update(self_billing_require_acceptance=True)


def test_a_waiting_self_invoice_is_named_when_the_file_is_made(eur, billed):
    require(eur.entity)
    (number,) = billed.documents.values_list("number", flat=True)
    with pytest.raises(pf.PaymentFileError) as caught:
        pf.payment_file_create(actor=ACTOR, entity=eur.entity, kind="sepa",
                               payout_ids=[*(p.pk for p in eur.payouts), billed.pk])  # fmt: skip
    (problem,) = caught.value.problems
    assert (problem.payout, problem.partner, problem.field) == (billed.pk, "billed", "acceptance")
    assert f"{number} awaits the supplier's acceptance" in problem.message
    skipped = pf.payment_file_create(actor=ACTOR, entity=eur.entity, kind="sepa",
                                     payout_ids=[*(p.pk for p in eur.payouts), billed.pk], skip_invalid=True)  # fmt: skip
    assert skipped.count == 3 and skipped.skipped[0]["field"] == "acceptance"


def test_marking_sent_honours_the_rule_and_pays_once_accepted(eur, billed):
    file = pf.payment_file_create(actor=ACTOR, entity=eur.entity, kind="sepa", payout_ids=[billed.pk])
    require(eur.entity)  # switched on after the file was made: the payouts service still refuses
    with pytest.raises(pf.PaymentRefused) as caught:
        pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=date(2026, 12, 9))
    (problem,) = caught.value.problems
    assert problem.payout == billed.pk and "pays only accepted self-invoices" in problem.message
    assert Payout.objects.get(pk=billed.pk).status == "ready"
    self_invoice_accept(actor="portal", doc=billed.documents.get(), decider=SUPPLIER)
    done = pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=date(2026, 12, 9))
    assert done.paid == [billed.pk] and Payout.objects.get(pk=billed.pk).status == "paid"


def test_after_a_dispute_the_reference_is_the_corrected_self_invoice_only(eur, billed):
    from leadbill.payouts import services as s
    from leadbill.selfbilling.acceptance import self_invoice_dispute

    (first,) = billed.documents.all()
    self_invoice_dispute(actor="portal", doc=first, decider=SUPPLIER, reason="the lead count is wrong")
    s.payout_transition(actor=ACTOR, payout=Payout.objects.get(pk=billed.pk), to="ready")
    live = [d.number for d in billed.documents.order_by("pk") if d.is_live]
    assert len(live) == 1 and live[0] != first.number
    file = pf.payment_file_create(actor=ACTOR, entity=eur.entity, kind="sepa", payout_ids=[billed.pk])
    assert file.items.get().remittance == live[0]
