"""A write-off never writes off a charge a later invoice already credited.

January bills a lead; the lead is returned and February nets its credit while January is still
open. Writing January off as it stands would lose that lead twice: in the write-off and in
February's credit. The credited part moves onto February (which asks for it again) and only the
charges never credited are lost. What the partner owes is the same just before and after the move.
"""

from __future__ import annotations

from datetime import date

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import StateError
from leadbill.domain.periods import month
from leadbill.invoicing.models import Invoice, Payment
from leadbill.invoicing.services import adjustment_create, credit_note_issue, invoice_void, payment_record
from leadbill.receivables import services as ledger
from leadbill.receivables.models import Entry, EntryKind
from leadbill.receivables.selectors import aging, open_minor, partner_accounts, statement, write_off_outcome
from tests.factories import make_deliveries, make_partner, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue, lines_of
from tests.invoicing.test_lifecycle import accept_return

pytestmark = pytest.mark.django_db


def loss_of(inv: Invoice) -> int:
    return -sum(Entry.objects.filter(invoice=inv, kind=EntryKind.WRITE_OFF).values_list("amount_minor", flat=True))


def fresh(inv: Invoice) -> Invoice:
    return Invoice.objects.get(pk=inv.pk)


def january_returned_on_february(entity, partner, jan, feb, *, returned=1, paid=0):
    """January: 5 leads at 2.00, `paid` of it paid; `returned` of them returned and netted on February
    (3 new leads at 2.00)."""
    make_plan(partner, "flat", {"price": "2.00"})
    leads = make_deliveries(partner, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(partner=partner, period_key="2026-01")
    if paid:
        payment_record(actor=ACTOR, invoice=january, amount_minor=paid, paid_on=date(2026, 2, 5))
    for lead in leads[:returned]:
        accept_return(lead, FEB_2)
    make_deliveries(partner, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    february = Invoice.objects.get(partner=partner, period_key="2026-02")
    return fresh(january), february


def test_the_credited_charge_moves_onto_the_invoice_that_credited_it(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    assert lines_of(february) == [("charge", 3, 600), ("return_credit", 1, -200)]
    owed_before = partner_accounts(buyer)["USD"].balance_minor
    assert owed_before == 1400

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert loss_of(january) == 800  # the four leads never credited, not the returned one again
    assert fresh(january).status == "written_off"
    assert open_minor(fresh(february)) == 600  # February asks again for what it credited
    assert partner_accounts(buyer)["USD"].balance_minor == owed_before - 800
    assert write_off_outcome(january) == (
        f"{january.number} is written off: 8.00 USD lost; 2.00 USD already credited on {february.number} "
        "for its charges moved there, which asks for it again"
    )  # fmt: skip
    event = AuditEvent.objects.filter(action="invoice.written_off").latest("pk")
    assert (event.data["amount_minor"], event.data["moved"]) == (800, {february.number: 200})


def test_a_paid_invoice_that_credited_the_charge_opens_again_for_it(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    payment_record(actor=ACTOR, invoice=february, amount_minor=400, paid_on=date(2026, 3, 5))
    assert fresh(february).status == "paid"

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert (fresh(february).status, open_minor(february)) == ("partially_paid", 200)
    assert loss_of(january) == 800


def test_no_more_moves_than_is_open_and_nothing_lost_when_it_covers_all(entity, buyer, jan, feb):
    # 9.00 of 10.00 paid; two leads (4.00) returned and netted on February: 1.00 open on January
    january, february = january_returned_on_february(entity, buyer, jan, feb, returned=2, paid=900)

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="short payment")

    assert loss_of(january) == 0
    assert not Entry.objects.filter(kind=EntryKind.WRITE_OFF).exists()
    assert fresh(january).status == "paid"
    assert open_minor(fresh(february)) == 200 + 100
    assert partner_accounts(buyer)["USD"].balance_minor == 300


def test_a_second_write_off_after_a_reversed_payment_moves_only_what_is_left(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb, paid=900)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="short payment")  # 1.00 of the 2.00 moves
    assert open_minor(fresh(february)) == 500

    ledger.payment_reverse(actor=ACTOR, payment=Payment.objects.get(invoice=january), reason="bounced")
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert open_minor(fresh(february)) == 600  # the other 1.00, not the 2.00 again
    assert loss_of(january) == 800
    assert partner_accounts(buyer)["USD"].balance_minor == 600


def test_a_credit_adjustment_correcting_the_invoice_moves_too(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(period_key="2026-01")
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-300, reason="wrong price", corrects=january)
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-100, reason="goodwill")  # corrects nothing
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    february = Invoice.objects.get(period_key="2026-02")
    assert february.total_minor == 200

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert (loss_of(january), open_minor(fresh(february))) == (700, 500)  # goodwill stays given


def test_tax_moves_with_the_charge_to_the_cent(entity, jan, feb):
    taxed = make_partner(entity, code="taxed", currency="USD", tax_rate_bp=1900)
    make_plan(taxed, "flat", {"price": "0.33"})
    leads = make_deliveries(taxed, 5, JAN_2)  # 1.65 + 0.31 tax
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(partner=taxed, period_key="2026-01")
    accept_return(leads[0], FEB_2)
    make_deliveries(taxed, 2, FEB_2)  # 0.66 - 0.33 = 0.33 + 0.06 tax
    issue(entity, feb, issue_date=date(2026, 3, 1))
    february = Invoice.objects.get(partner=taxed, period_key="2026-02")
    assert (january.total_minor, february.total_minor) == (196, 39)

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    # February without the credit: 0.66 + 0.13 tax = 0.79; it took 0.40 off, not 0.33 * 1.19 rounded alone
    assert open_minor(fresh(february)) == 79
    assert loss_of(january) == 196 - 40
    assert partner_accounts(taxed)["USD"].balance_minor == 79


def test_voiding_the_invoice_that_took_the_charge_gives_it_back_and_the_next_run_nets_it_again(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    invoice_void(actor=ACTOR, invoice=february, reason="wrong period")

    assert open_minor(fresh(february)) == 0
    assert (open_minor(january), fresh(january).status) == (200, "partially_paid")  # the returned lead's charge
    assert partner_accounts(buyer)["USD"].balance_minor == 200
    issue(entity, month(2026, 3, "UTC"), issue_date=date(2026, 4, 1))  # re-bills February's leads, nets the return
    march = Invoice.objects.get(period_key="2026-03")
    assert lines_of(march)[-1] == ("return_credit", 1, -200)
    assert partner_accounts(buyer)["USD"].balance_minor == 600  # February's three leads, nothing else

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert (loss_of(january), open_minor(fresh(march))) == (800, 600)


def test_an_invoice_written_off_and_reopened_by_a_reversed_payment_is_not_voided(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(period_key="2026-01")
    payment_record(actor=ACTOR, invoice=january, amount_minor=900, paid_on=date(2026, 2, 5))
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="short payment")  # 1.00
    ledger.payment_reverse(actor=ACTOR, payment=Payment.objects.get(invoice=january), reason="bounced")
    assert fresh(january).status == "partially_paid"

    # a void's credit note would credit all 10.00, the 1.00 already lost included
    with pytest.raises(StateError, match=f"{january.number} was written off; issue a credit note instead"):
        invoice_void(actor=ACTOR, invoice=fresh(january), reason="mistake")


def test_the_statement_shows_no_move_and_ages_the_charge_with_the_invoice_that_asks_for_it(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")
    today = Entry.objects.filter(kind=EntryKind.TRANSFER).first().occurred_on

    st = statement(buyer, "USD", date(2026, 1, 1), today)

    assert [line.what for line in st.lines] == ["Invoice", "Invoice", "Written off"]
    assert st.closing_minor == 600 == partner_accounts(buyer)["USD"].balance_minor
    (row,) = aging(entity, february.due_date, partner=buyer)
    assert (row["total"], row["current"]) == (600, 600)  # due with February, not overdue with January


def test_a_credit_note_for_the_invoices_returns_is_not_counted_as_credit_given_elsewhere(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(period_key="2026-01")
    accept_return(leads[0], FEB_2)
    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))  # settles January's 2.00 itself

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert loss_of(january) == 800
    assert not Entry.objects.filter(kind=EntryKind.TRANSFER).exists()
