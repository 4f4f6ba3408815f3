"""One month of an EUR entity's books, made through the real services: invoices, a payment, a credit note,
a self-invoice (389) with a later self-billed credit note (261), and the payout paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from leadbill.books.services import mapping_apply
from leadbill.entities.models import Entity
from leadbill.invoicing import services as inv
from leadbill.invoicing.models import Invoice
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling.models import SelfBilledDocument
from tests.payouts.conftest import OCTOBER, World, compute, opt_in, ready, world  # noqa: F401

ACTOR = "test:books"
NOVEMBER_FIRST, NOVEMBER_LAST = date(2026, 11, 1), date(2026, 11, 30)


@dataclass
class Month:
    entity: Entity
    invoice: Invoice
    credit_note: Invoice
    payout: Payout
    self_invoice: SelfBilledDocument


def datev_numbers(entity: Entity) -> None:
    mapping_apply(actor=ACTOR, entity=entity, values={"datev_consultant": 1001, "datev_client": 10001})


@pytest.fixture
def month(world: World) -> Month:  # noqa: F811
    """October's leads billed on 2 November, paid in part on 5 November, 20.00 credited on 12 November;
    the supplier's self-invoice of 10 November, its payout paid on 20 November."""
    result = inv.invoice_run_issue(actor=ACTOR, entity=world.entity, period=OCTOBER, issue_date=date(2026, 11, 2))
    assert len(result.issued) == 1
    invoice = Invoice.objects.get(entity=world.entity, kind="invoice")
    inv.payment_record(actor=ACTOR, invoice=invoice, amount_minor=10000, paid_on=date(2026, 11, 5), reference="SEPA 77")
    inv.adjustment_create(actor=ACTOR, partner=world.buyer, amount_minor=-2000, reason="goodwill")
    note = inv.credit_note_issue(actor=ACTOR, partner=world.buyer, issue_date=date(2026, 11, 12))
    opt_in(world)
    payout = compute(world)
    ready(payout)
    SelfBilledDocument.objects.filter(payout=payout).update(issue_date=date(2026, 11, 10))  # arranged: a fixed day
    s.payout_transition(actor=ACTOR, payout=payout, to="paid", paid_on=date(2026, 11, 20), reference="SEPA-OUT-1")
    payout.refresh_from_db()
    return Month(world.entity, invoice, note, payout, SelfBilledDocument.objects.get(payout=payout, role="invoice"))
