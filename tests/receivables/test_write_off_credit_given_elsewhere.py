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
from leadbill.deliveries.models import Delivery, Return
from leadbill.domain.errors import StateError
from leadbill.domain.periods import month
from leadbill.invoicing.models import Invoice, Payment
from leadbill.invoicing.selectors import partner_balance
from leadbill.invoicing.services import (
    adjustment_create,
    credit_note_issue,
    invoice_void,
    payment_record,
    topup_record,
)
from leadbill.receivables import services as ledger
from leadbill.receivables.models import Entry, EntryKind
from leadbill.receivables.selectors import (
    aging,
    credit_on_account,
    open_minor,
    partner_accounts,
    statement,
    write_off_outcome,
)
from tests.factories import make_deliveries, make_partner, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue, lines_of
from tests.invoicing.test_lifecycle import accept_return
from tests.invoicing.test_written_off_returns import MAR_2

pytestmark = pytest.mark.django_db


def loss_of(inv: Invoice) -> int:
    return -sum(Entry.objects.filter(invoice=inv, kind=EntryKind.WRITE_OFF).values_list("amount_minor", flat=True))


def fresh(inv: Invoice) -> Invoice:
    return Invoice.objects.get(pk=inv.pk)


def issued_january(entity, partner, jan, *, credit=None):
    """January issued to `partner`: 5 leads at 2.00 (10.00); `credit` sets how the entity applies credit."""
    if credit:
        entity.credit_on_account = credit
        entity.save()
    make_plan(partner, "flat", {"price": "2.00"})
    leads = make_deliveries(partner, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    return Invoice.objects.get(partner=partner, period_key="2026-01"), leads


def january_returned_on_february(entity, partner, jan, feb, *, returned=1, paid=0):
    """January: 5 leads at 2.00, `paid` of it paid; `returned` of them returned and netted on February
    (3 new leads at 2.00)."""
    january, leads = issued_january(entity, partner, jan)
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
    moved_in = AuditEvent.objects.get(action="invoice.credit_moved_in")  # on February's history
    assert (moved_in.object_id, moved_in.data["amount_minor"], moved_in.data["source"]) == (
        str(february.pk), 200, january.number
    )  # fmt: skip


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
    january, _ = issued_january(entity, buyer, jan)
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


def test_voiding_the_invoice_that_took_the_charge_writes_it_off_and_its_return_lowers_the_loss_later(
    entity, buyer, jan, feb
):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    returned = Return.objects.get().delivery_id
    kept = Delivery.objects.filter(partner=buyer, delivered_at__lt=FEB_2).exclude(pk=returned).order_by("pk").first()
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    invoice_void(actor=ACTOR, invoice=february, reason="wrong period")

    # February's credit for the returned lead is released, so its charge is written off with January's
    assert open_minor(fresh(february)) == 0
    grown = AuditEvent.objects.filter(action="invoice.written_off", object_id=str(january.pk)).latest("pk")
    assert (grown.data["amount_minor"], grown.data["reason"]) == (
        200, f"{february.number} is void: the charges of {january.number} it credited are written off"
    )  # fmt: skip
    assert (open_minor(january), fresh(january).status, loss_of(january)) == (0, "written_off", 1000)
    assert partner_accounts(buyer)["USD"].balance_minor == 0
    accept_return(kept, MAR_2)  # a second lead of the written-off January
    issue(entity, month(2026, 3, "UTC"), issue_date=date(2026, 4, 1))  # re-bills February's leads only
    march = Invoice.objects.get(period_key="2026-03", kind="invoice")
    assert lines_of(march) == [("prior_period", 3, 600)]  # returns of a written-off invoice are not netted

    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 4, 2))

    assert loss_of(january) == 600  # both returned leads lower the loss; the partner owes March alone
    assert partner_accounts(buyer)["USD"].balance_minor == 600
    assert statement(buyer, "USD", date(2026, 1, 1), date(2030, 1, 1)).closing_minor == 600


def test_a_void_gives_back_what_is_open_and_the_rest_goes_on_account(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")  # February open 6.00
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-500, reason="goodwill")
    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 3))  # 5.00, spent on February
    assert open_minor(fresh(february)) == 100

    invoice_void(actor=ACTOR, invoice=fresh(february), reason="wrong period")

    assert open_minor(fresh(february)) == 0  # never below zero on a void document
    assert credit_on_account(buyer, "USD") == 500  # the goodwill credit, back to spend
    assert partner_accounts(buyer)["USD"].balance_minor == -500
    assert loss_of(january) == 1000


def test_an_invoice_written_off_and_reopened_by_a_reversed_payment_is_not_voided(entity, buyer, jan):
    january, _ = issued_january(entity, buyer, jan)
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
    january, leads = issued_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))  # settles January's 2.00 itself

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert loss_of(january) == 800
    assert not Entry.objects.filter(kind=EntryKind.TRANSFER).exists()


def test_a_run_credit_note_settles_the_invoice_it_corrects_not_the_oldest(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    feb_leads = make_deliveries(buyer, 5, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    january, february = Invoice.objects.filter(partner=buyer).order_by("sequence")
    accept_return(feb_leads[0], MAR_2)
    issue(entity, month(2026, 3, "UTC"), issue_date=date(2026, 4, 1))  # no March leads: a credit note
    assert Invoice.objects.get(kind="credit_note").total_minor == -200

    assert (open_minor(fresh(january)), open_minor(fresh(february))) == (1000, 800)
    ledger.invoice_write_off(actor=ACTOR, invoice=fresh(february), reason="partner insolvent")
    assert loss_of(february) == 800  # the returned lead is not lost again
    assert partner_accounts(buyer)["USD"].balance_minor == 1000


def test_under_manual_credit_a_run_credit_note_for_an_open_invoice_settles_it(entity, buyer, jan, feb):
    january, leads = issued_january(entity, buyer, jan, credit="manual")
    accept_return(leads[0], FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))  # no February leads: a credit note

    assert (open_minor(fresh(january)), credit_on_account(buyer, "USD")) == (800, 0)  # not refundable credit
    ledger.invoice_write_off(actor=ACTOR, invoice=fresh(january), reason="partner insolvent")
    assert loss_of(january) == 800


def test_a_run_credit_note_with_charges_shares_its_net_credit_with_the_invoice_it_corrects(entity, buyer, jan, feb):
    january, leads = issued_january(entity, buyer, jan, credit="manual")
    for lead in leads[:3]:
        accept_return(lead, FEB_2)
    make_deliveries(buyer, 1, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))  # 2.00 - 6.00
    note = Invoice.objects.get(kind="credit_note")
    assert note.total_minor == -400

    assert (open_minor(fresh(january)), credit_on_account(buyer, "USD")) == (600, 0)
    assert partner_accounts(buyer)["USD"].balance_minor == 600


def january_returned_on_a_prepay_receipt(entity, buyer, jan, feb):
    """January billed on credit terms (10.00); the partner then moves to prepay, tops up 20.00, and
    February's receipt (3 leads) nets one returned January lead: 4.00 off the balance."""
    january, leads = issued_january(entity, buyer, jan)
    buyer.billing_mode = "prepay"
    buyer.save()
    topup_record(actor=ACTOR, partner=buyer, amount_minor=2000, occurred_at=FEB_2)
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    receipt = Invoice.objects.get(kind="receipt")
    assert lines_of(receipt)[-1] == ("return_credit", 1, -200)
    assert partner_balance(buyer) == 1600
    return fresh(january), receipt


def test_a_prepay_receipt_that_credited_the_charge_takes_it_from_the_balance(entity, buyer, jan, feb):
    january, receipt = january_returned_on_a_prepay_receipt(entity, buyer, jan, feb)

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert loss_of(january) == 800
    assert partner_balance(buyer) == 1400  # the receipt's 2.00 credit is paid from the balance now
    assert write_off_outcome(january).endswith(f"2.00 USD already credited on {receipt.number} for its charges "
                                               "moved there, which asks for it again")  # fmt: skip


def test_voiding_that_receipt_gives_the_balance_back_and_writes_the_charge_off(entity, buyer, jan, feb):
    january, receipt = january_returned_on_a_prepay_receipt(entity, buyer, jan, feb)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    invoice_void(actor=ACTOR, invoice=receipt, reason="wrong period")

    assert partner_balance(buyer) == 2000  # as topped up: the receipt and its 2.00 are both undone
    assert (loss_of(january), fresh(january).status) == (1000, "written_off")


def test_nothing_moves_onto_an_invoice_already_written_off(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb)
    ledger.invoice_write_off(actor=ACTOR, invoice=february, reason="partner insolvent")  # 4.00

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert fresh(february).status == "written_off"  # not reopened for a partner that pays nothing
    assert (loss_of(january), loss_of(february)) == (1000, 400)
    assert partner_accounts(buyer)["USD"].balance_minor == 0


def test_the_statement_shows_the_charge_paid_from_the_prepay_balance(entity, buyer, jan, feb):
    january, receipt = january_returned_on_a_prepay_receipt(entity, buyer, jan, feb)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")
    today = Entry.objects.filter(kind=EntryKind.TRANSFER).first().occurred_on

    st = statement(buyer, "USD", date(2026, 1, 1), today)

    assert [(line.what, line.document, line.credit_minor) for line in st.lines][1:] == [
        ("Through the prepay balance", receipt.number, 200), ("Written off", january.number, 800),
    ]  # fmt: skip
    assert st.closing_minor == 0 == partner_accounts(buyer)["USD"].balance_minor


def test_a_write_off_that_only_moves_credit_says_nothing_is_lost(entity, buyer, jan, feb):
    january, february = january_returned_on_february(entity, buyer, jan, feb, returned=2, paid=900)

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="short payment")

    assert write_off_outcome(january) == (
        f"{january.number} is closed: nothing is lost; 1.00 USD already credited on {february.number} "
        "for its charges moved there, which asks for it again"
    )  # fmt: skip


def paid_january_with_a_credited_return(entity, buyer, jan, *, mode):
    """January paid in full (10.00); one lead returned and credited by a credit note while it was paid,
    so the note's 2.00 went to the partner; then the payment bounces and January reopens. What became
    of those 2.00 is not traced (credit on account is one pool): only what reaches January counts."""
    january, leads = issued_january(entity, buyer, jan, credit=mode)
    payment_record(actor=ACTOR, invoice=january, amount_minor=1000, paid_on=date(2026, 2, 5))
    accept_return(leads[0], FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 2))
    ledger.payment_reverse(actor=ACTOR, payment=Payment.objects.get(invoice=january), reason="bounced")
    return fresh(january), note


def test_a_credit_note_refunded_in_cash_stays_in_the_loss(entity, buyer, jan, feb):
    january, _ = paid_january_with_a_credited_return(entity, buyer, jan, mode="manual")
    ledger.credit_refund(actor=ACTOR, partner=buyer, currency="USD", amount_minor=200, reference="paid back")

    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="partner insolvent")

    assert loss_of(january) == 1000  # the money left: nothing on account to take back
    assert not Entry.objects.filter(kind=EntryKind.TRANSFER).exists()


def test_a_credit_note_share_spent_on_the_invoice_itself_lowers_the_write_off(entity, buyer, jan, feb):
    january, _ = paid_january_with_a_credited_return(entity, buyer, jan, mode="manual")
    ledger.credit_apply(actor=ACTOR, partner=buyer, currency="USD", invoice=january)  # the 2.00, on January
    assert open_minor(fresh(january)) == 800

    ledger.invoice_write_off(actor=ACTOR, invoice=fresh(january), reason="partner insolvent")

    assert loss_of(january) == 800
    assert not Entry.objects.filter(kind=EntryKind.TRANSFER).exists()
