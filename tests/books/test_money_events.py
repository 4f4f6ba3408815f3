"""Money events in the journal, made through the real services: a reversed payment, a refund of credit,
a write-off, a prepay top-up and receipt, and a cancelled payout's self-billed reversal (261)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadbill.books.selectors import accounts_of, mapping_columns, period_facts
from leadbill.domain import journal as j
from leadbill.invoicing import services as inv
from leadbill.invoicing.models import Invoice, Payment
from leadbill.payouts import services as s
from leadbill.receivables import services as ledger
from tests.books.conftest import ACTOR
from tests.factories import make_deliveries, make_entity, make_partner, make_plan
from tests.payouts.conftest import OCTOBER, compute, opt_in, ready

pytestmark = pytest.mark.django_db


def by_kind(entity, first, last):
    period = period_facts(entity, first, last)
    entries = j.journal(period.facts, accounts_of(mapping_columns(entity)))
    out: dict[str, list[tuple[str, int, int]]] = {}
    for e in entries:
        assert e.debit_minor == e.credit_minor
        out.setdefault(e.facts.kind, []).append(tuple((p.account, p.debit_minor, p.credit_minor) for p in e.postings))
    return out


def test_reversal_refund_and_write_off_post_against_receivables():
    entity = make_entity(slug="usco", currency="USD", timezone="UTC", invoice_prefix="U-", credit_note_prefix="UCN-")
    buyer = make_partner(entity, code="acme", name="Acme", currency="USD")
    other = make_partner(entity, code="blue", name="Blue", currency="USD")
    for p in (buyer, other):
        make_plan(p, "flat", {"price": "10.00"})
        make_deliveries(p, 10, datetime(2026, 1, 5, 9, tzinfo=UTC))
    from leadbill.domain import periods

    inv.invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 1, "UTC"), issue_date=date(2026, 2, 1))
    acme_invoice = Invoice.objects.get(partner=buyer)
    payment = inv.payment_record(actor=ACTOR, invoice=acme_invoice, amount_minor=10000, paid_on=date(2026, 2, 3))
    ledger.payment_reverse(actor=ACTOR, payment=payment, reason="bounced")
    inv.payment_record(actor=ACTOR, invoice=acme_invoice, amount_minor=12000, paid_on=date(2026, 2, 4))  # 20.00 over
    ledger.credit_refund(actor=ACTOR, partner=buyer, currency="USD", amount_minor=2000, reference="back")
    ledger.invoice_write_off(actor=ACTOR, invoice=Invoice.objects.get(partner=other), reason="insolvent")
    kinds = by_kind(entity, date(2026, 2, 1), date(2026, 12, 31))
    assert kinds["payment_reversal"] == [(("1200", 10000, 0), ("1000", 0, 10000))]
    assert kinds["refund"] == [(("1200", 2000, 0), ("1000", 0, 2000))]
    assert kinds["write_off"] == [(("6900", 10000, 0), ("1200", 0, 10000))]
    assert [Payment.objects.count(), len(kinds["payment"])] == [2, 2]


def test_a_credit_note_that_lowers_a_loss_reverses_that_much_of_the_write_off():
    from leadbill.deliveries.models import Return
    from leadbill.domain import periods
    from leadbill.receivables.selectors import partner_accounts

    entity = make_entity(slug="lossco", currency="USD", timezone="UTC", invoice_prefix="L-", credit_note_prefix="LCN-")
    buyer = make_partner(entity, code="acme", name="Acme", currency="USD")
    make_plan(buyer, "flat", {"price": "10.00"})
    leads = make_deliveries(buyer, 10, datetime(2026, 1, 5, 9, tzinfo=UTC))
    inv.invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 1, "UTC"), issue_date=date(2026, 2, 1))
    ledger.invoice_write_off(actor=ACTOR, invoice=Invoice.objects.get(partner=buyer), reason="insolvent")  # 100.00
    when = datetime(2026, 2, 2, tzinfo=UTC)
    Return.objects.create(entity=entity, delivery=leads[0], reason="bad number", status="accepted",
                          requested_at=when, decided_at=when, decided_by=ACTOR)  # fmt: skip
    inv.credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))  # 10.00 lowers the loss

    kinds = by_kind(entity, date(2026, 1, 1), date(2030, 12, 31))

    assert kinds["write_off"] == [(("6900", 10000, 0), ("1200", 0, 10000))]
    assert kinds["write_off_reversal"] == [(("1200", 1000, 0), ("6900", 0, 1000))]  # not a second write-off
    receivables = sum(d - c for postings in kinds.values() for entry in postings for a, d, c in entry if a == "1200")
    assert receivables == partner_accounts(buyer)["USD"].balance_minor == 0


def test_a_prepay_top_up_credits_receivables_and_its_receipt_uses_them(world):
    blue = make_partner(world.entity, code="prepaid", name="Prepaid GmbH", billing_mode="prepay")
    make_plan(blue, "flat", {"price": "10.00"})
    make_deliveries(blue, 3, datetime(2026, 10, 6, 9, tzinfo=UTC))
    inv.topup_record(
        actor=ACTOR, partner=blue, amount_minor=50000, occurred_at=datetime(2026, 10, 1, 23, 30, tzinfo=UTC)
    )
    inv.invoice_run_issue(actor=ACTOR, entity=world.entity, period=OCTOBER, issue_date=date(2026, 11, 2))
    kinds = by_kind(world.entity, date(2026, 10, 1), date(2026, 11, 30))
    # 23:30 UTC on 1 October is 2 October in Berlin: the top-up's day is the entity's
    assert period_facts(world.entity, date(2026, 10, 2), date(2026, 10, 2)).facts[0].kind == j.TOPUP
    assert kinds["topup"] == [(("1200", 50000, 0), ("10000", 0, 50000))]
    assert kinds["receipt"] == [(("10000", 3570, 0), ("8400", 0, 3000), ("1776", 0, 570))]


def test_a_cancelled_payouts_self_invoice_is_reversed_by_a_261_on_payables(world):
    opt_in(world)
    payout = ready(compute(world))
    s.payout_transition(actor=ACTOR, payout=payout, to="cancelled", reason="wrong supplier")
    kinds = by_kind(world.entity, date(2026, 1, 1), date(2027, 12, 31))
    (invoice,), (credit,) = kinds["self_invoice"], kinds["self_credit"]
    assert {a: (d, c) for a, d, c in invoice} == {a: (c, d) for a, d, c in credit}
    assert ("70000", 15768, 0) in credit
