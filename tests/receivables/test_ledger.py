"""The receivables rules, through the services: what is open, what settles it, where credit goes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import DomainError, StateError
from leadbill.invoicing.models import Invoice, Payment
from leadbill.invoicing.services import credit_note_issue, invoice_void, payment_record
from leadbill.receivables import services as ledger
from leadbill.receivables.selectors import aging, credit_on_account, entity_receivables, partner_accounts, statement
from tests.factories import make_deliveries, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue
from tests.invoicing.test_lifecycle import accept_return

pytestmark = pytest.mark.django_db


def january(entity, buyer, jan, leads=5, **issue_kw):
    """January's leads at 2.00, issued: the invoice and its deliveries."""
    make_plan(buyer, "flat", {"price": "2.00"})
    delivered = make_deliveries(buyer, leads, JAN_2)
    issue(entity, jan, **issue_kw)
    return Invoice.objects.get(kind="invoice", period_key="2026-01"), delivered


def manual_january(entity, buyer, jan):
    """The entity leaves credit on account for finance; January (10.00) issued on 1 February."""
    entity.credit_on_account = "manual"
    entity.save()
    return january(entity, buyer, jan, issue_date=date(2026, 2, 1))


def reread(inv):
    return Invoice.objects.get(pk=inv.pk)


def test_a_void_invoice_has_nothing_open(entity, buyer, jan):
    inv, _ = january(entity, buyer, jan)
    assert (inv.status, inv.balance_due_minor) == ("issued", 1000)
    invoice_void(actor=ACTOR, invoice=inv, reason="wrong price")
    inv = reread(inv)
    assert (inv.status, inv.balance_due_minor) == ("void", 0)
    assert partner_accounts(buyer)["USD"].balance_minor == 0


def test_a_return_credit_note_reduces_the_invoice_that_billed_the_lead(entity, buyer, jan):
    inv, leads = january(entity, buyer, jan)
    accept_return(leads[1], FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))
    inv = reread(inv)
    assert note.total_minor == -200
    assert (inv.status, inv.balance_due_minor, inv.paid_minor) == ("partially_paid", 800, 0)
    assert inv.total_minor == 1000  # the issued invoice itself never changes
    assert credit_on_account(buyer, "USD") == 0


def test_a_payment_above_what_is_open_becomes_credit_on_account(entity, buyer, jan):
    entity.credit_on_account = "manual"
    entity.save()
    inv, _ = january(entity, buyer, jan)
    payment_record(actor=ACTOR, invoice=inv, amount_minor=1250, paid_on=date(2026, 2, 5), reference="wire")
    inv = reread(inv)
    assert (inv.status, inv.balance_due_minor, inv.paid_minor) == ("paid", 0, 1000)
    account = partner_accounts(buyer)["USD"]
    assert (account.credit_minor, account.balance_minor, account.open_minor) == (250, -250, 0)
    event = AuditEvent.objects.get(action="payment.recorded")
    assert event.data["on_account_minor"] == 250


def statement_lines(partner, first_day, last_day):
    st = statement(partner, "USD", first_day, last_day)
    return st, [(line.what, line.document, line.reference, line.debit_minor, line.credit_minor, line.balance_minor)
                for line in st.lines]  # fmt: skip


def test_a_statement_shows_an_overpayment_as_one_payment_line_of_its_full_amount(entity, buyer, jan):
    inv, _ = manual_january(entity, buyer, jan)  # 10.00
    payment_record(actor=ACTOR, invoice=inv, amount_minor=1250, paid_on=date(2026, 2, 5), reference="wire 8812")
    st, lines = statement_lines(buyer, date(2026, 2, 1), date(2026, 2, 28))
    # 10.00 settles the invoice and 2.50 goes on account: one payment, one line, the balance runs on
    assert lines == [("Invoice", inv.number, "", 1000, 0, 1000), ("Payment", inv.number, "wire 8812", 0, 1250, -250)]
    assert (st.opening_minor, st.closing_minor, st.credit_minor) == (0, -250, 250)


def test_a_statement_shows_a_credit_note_split_between_an_invoice_and_the_account_as_one_line(entity, buyer, jan):
    inv, leads = manual_january(entity, buyer, jan)  # 10.00
    payment_record(actor=ACTOR, invoice=inv, amount_minor=900, paid_on=date(2026, 2, 5), reference="wire")
    accept_return(leads[0], FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 10))  # 1.00 settles, 1.00 on account
    st, lines = statement_lines(buyer, date(2026, 2, 1), date(2026, 2, 28))
    assert lines == [("Invoice", inv.number, "", 1000, 0, 1000), ("Payment", inv.number, "wire", 0, 900, 100),
                     ("Credit note", note.number, "", 0, 200, -100)]  # fmt: skip
    assert (st.closing_minor, st.credit_minor) == (-100, 100)


def test_a_statement_shows_a_credit_note_lowering_a_write_off_as_one_line_and_a_day_in_booking_order(
    entity, buyer, jan
):
    inv, leads = manual_january(entity, buyer, jan)  # 10.00
    payment_record(actor=ACTOR, invoice=inv, amount_minor=600, paid_on=date(2026, 2, 5), reference="wire")
    ledger.invoice_write_off(actor=ACTOR, invoice=inv, reason="partner insolvent")  # 4.00, dated today
    for lead in leads[:3]:
        accept_return(lead, FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer)  # 6.00 today: 4.00 lowers the loss, 2.00 on account
    today = note.issue_date
    st, lines = statement_lines(buyer, date(2026, 2, 1), today)
    # the write-off, then the credit note (one line for both its parts), then the loss it lowered:
    # as booked, not sorted by kind (which put the credit note before the write-off it corrects)
    assert lines == [
        ("Invoice", inv.number, "", 1000, 0, 1000),
        ("Payment", inv.number, "wire", 0, 600, 400),
        ("Written off", inv.number, "partner insolvent", 0, 400, 0),
        ("Credit note", note.number, "", 0, 600, -600),  # two parts, two reasons: neither names the whole
        ("Written off", note.number, f"loss on {inv.number} lowered by {note.number}", 400, 0, -200),
    ]
    assert (st.closing_minor, st.credit_minor) == (-200, 200)


def test_a_statement_keeps_two_refunds_of_one_day_apart(entity, buyer, jan):
    inv, _ = manual_january(entity, buyer, jan)
    payment_record(actor=ACTOR, invoice=inv, amount_minor=1500, paid_on=date(2026, 2, 5), reference="wire")
    first = ledger.credit_refund(actor=ACTOR, partner=buyer, currency="USD", amount_minor=200, reference="R-1")
    ledger.credit_refund(actor=ACTOR, partner=buyer, currency="USD", amount_minor=300, reference="R-2")
    _, lines = statement_lines(buyer, date(2026, 2, 1), first.occurred_on)
    assert lines[-2:] == [("Refund of credit", "", "R-1", 200, 0, -300), ("Refund of credit", "", "R-2", 300, 0, 0)]


def test_credit_on_account_is_applied_oldest_first(entity, buyer, jan, feb):
    entity.credit_on_account = "manual"
    entity.save()
    january_invoice, _ = january(entity, buyer, jan)
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb)
    february_invoice = Invoice.objects.get(kind="invoice", period_key="2026-02")
    ledger_credit(buyer, 1300)  # credit on account, from a credit note without a target
    spent = ledger.credit_apply(actor=ACTOR, partner=buyer, currency="USD")
    assert [(inv.number, amount) for inv, amount in spent] == [(january_invoice.number, 1000),
                                                               (february_invoice.number, 300)]  # fmt: skip
    assert reread(january_invoice).status == "paid" and reread(february_invoice).balance_due_minor == 300
    assert credit_on_account(buyer, "USD") == 0
    assert AuditEvent.objects.filter(action="credit.applied").count() == 1
    with pytest.raises(StateError, match="no credit on account"):
        ledger.credit_apply(actor=ACTOR, partner=buyer, currency="USD")


def test_the_entity_can_apply_credit_automatically_to_the_next_invoice(entity, buyer, jan, feb):
    assert entity.credit_on_account == "automatic"
    january_invoice, _ = january(entity, buyer, jan)
    payment_record(actor=ACTOR, invoice=january_invoice, amount_minor=1500, paid_on=date(2026, 2, 5))
    assert credit_on_account(buyer, "USD") == 500
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb)
    february_invoice = Invoice.objects.get(kind="invoice", period_key="2026-02")
    assert (february_invoice.total_minor, reread(february_invoice).balance_due_minor) == (600, 100)
    assert reread(february_invoice).status == "partially_paid" and credit_on_account(buyer, "USD") == 0


def test_a_reversed_payment_reopens_the_invoice(entity, buyer, jan):
    inv, _ = january(entity, buyer, jan)
    payment = payment_record(actor=ACTOR, invoice=inv, amount_minor=1000, paid_on=date(2026, 2, 5))
    assert reread(inv).status == "paid"
    with pytest.raises(DomainError, match="say why"):
        ledger.payment_reverse(actor=ACTOR, payment=payment, reason=" ")
    ledger.payment_reverse(actor=ACTOR, payment=payment, reason="bounced")
    inv = reread(inv)
    assert (inv.status, inv.balance_due_minor, inv.paid_minor) == ("issued", 1000, 0)
    assert Payment.objects.filter(pk=payment.pk).exists()  # the payment stays on record, reversed
    with pytest.raises(StateError, match="reversed already"):
        ledger.payment_reverse(actor=ACTOR, payment=payment, reason="twice")
    assert AuditEvent.objects.get(action="payment.reversed").data["reason"] == "bounced"


def test_a_write_off_closes_what_is_left_with_its_reason(entity, buyer, jan):
    inv, _ = january(entity, buyer, jan)
    payment_record(actor=ACTOR, invoice=inv, amount_minor=300, paid_on=date(2026, 2, 5))
    ledger.invoice_write_off(actor=ACTOR, invoice=inv, reason="buyer insolvent")
    inv = reread(inv)
    assert (inv.status, inv.balance_due_minor, inv.paid_minor) == ("written_off", 0, 300)
    assert AuditEvent.objects.get(action="invoice.written_off").data["amount_minor"] == 700
    with pytest.raises(StateError, match="only open invoices"):
        payment_record(actor=ACTOR, invoice=inv, amount_minor=100, paid_on=date(2026, 2, 6))


def test_credit_on_account_can_be_refunded_but_not_beyond_it(entity, buyer, jan):
    entity.credit_on_account = "manual"
    entity.save()
    inv, _ = january(entity, buyer, jan)
    payment_record(actor=ACTOR, invoice=inv, amount_minor=1200, paid_on=date(2026, 2, 5))
    with pytest.raises(DomainError, match="less credit on account"):
        ledger.credit_refund(actor=ACTOR, partner=buyer, currency="USD", amount_minor=201)
    ledger.credit_refund(actor=ACTOR, partner=buyer, currency="USD", amount_minor=200, reference="ACH back")
    assert credit_on_account(buyer, "USD") == 0 and partner_accounts(buyer)["USD"].balance_minor == 0


def test_aging_puts_open_amounts_in_buckets_of_days_past_due(entity, buyer, jan):
    inv, _ = january(entity, buyer, jan)
    payment_record(actor=ACTOR, invoice=inv, amount_minor=400, paid_on=date(2026, 2, 5))
    due = reread(inv).due_date
    assert aging(entity, due)[0]["current"] == 600
    row = aging(entity, due + timedelta(days=45))[0]
    assert (row["31-60"], row["total"], row["partner"]) == (600, 600, buyer)
    assert aging(entity, due + timedelta(days=91))[0]["90+"] == 600
    figures = entity_receivables(entity, due + timedelta(days=1))
    assert figures["open"] == figures["overdue"] == [{"currency": "USD", "count": 1, "due": 600}]


def ledger_credit(partner, amount_minor):
    from django.db import transaction

    with transaction.atomic():
        ledger.credit_entries(actor=ACTOR, partner=partner, currency="USD", kind="credit_note",
                              amount_minor=amount_minor, target=None, occurred_on=date(2026, 2, 10))  # fmt: skip


def test_voiding_asks_what_it_means_for_the_leads(entity, buyer, jan):
    from leadbill.invoicing.services import invoice_run_preview

    inv, _ = january(entity, buyer, jan)
    with pytest.raises(DomainError, match="re-billed"):
        invoice_void(actor=ACTOR, invoice=inv, reason="wrong price", leads="")
    invoice_void(actor=ACTOR, invoice=inv, reason="wrong price", leads="rebill")
    preview = invoice_run_preview(entity=entity, period=jan)
    (draft,) = preview.drafts
    assert f"5 leads come back from voided {inv.number} (billed again)" in draft.anomalies
    issue(entity, jan)
    again = Invoice.objects.get(kind="invoice", status="issued")
    assert again.total_minor == 1000 and reread(inv).void_leads == "rebill"


def test_a_cancelled_invoices_leads_are_not_billed_again(entity, buyer, jan):
    inv, _ = january(entity, buyer, jan)
    invoice_void(actor=ACTOR, invoice=inv, reason="test traffic", leads="cancel")
    issue(entity, jan)
    assert not Invoice.objects.filter(kind="invoice", status="issued").exists()
    assert AuditEvent.objects.get(action="invoice.voided").data["leads"] == "cancel"


def test_a_credit_note_for_an_adjustment_settles_the_invoice_it_corrects(entity, buyer, jan):
    from leadbill.invoicing.services import adjustment_create

    inv, _ = january(entity, buyer, jan)
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-300, reason="3 leads billed twice", corrects=inv)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))
    assert note.total_minor == -300
    inv = reread(inv)
    assert (inv.status, inv.balance_due_minor) == ("partially_paid", 700) and credit_on_account(buyer, "USD") == 0
    with pytest.raises(DomainError, match="is not an issued invoice of"):
        adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-1, reason="x", corrects=note)


def test_a_credit_note_is_neither_written_off_nor_given_credit(entity, buyer, jan):
    entity.credit_on_account = "manual"
    entity.save()
    inv, leads = january(entity, buyer, jan)
    accept_return(leads[1], FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))
    with pytest.raises(StateError, match=f"{note.number} is a credit note; only invoices are written off"):
        ledger.invoice_write_off(actor=ACTOR, invoice=note, reason="buyer insolvent")
    ledger_credit(buyer, 300)
    with pytest.raises(StateError, match=f"{note.number} is a credit note; only invoices take credit"):
        ledger.credit_apply(actor=ACTOR, partner=buyer, currency="USD", invoice=note)
    assert not AuditEvent.objects.filter(action__in=["invoice.written_off", "credit.applied"]).exists()
    assert (reread(inv).balance_due_minor, credit_on_account(buyer, "USD")) == (800, 300)


def _overpaid_then_bounced(entity, buyer, jan, feb):
    """January 10.00, February 6.00; a 13.00 wire on January puts 3.00 on February (automatic), then bounces."""
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    january, february = Invoice.objects.get(period_key="2026-01"), Invoice.objects.get(period_key="2026-02")
    pay = payment_record(actor=ACTOR, invoice=january, amount_minor=1300, paid_on=date(2026, 3, 5), reference="wire")
    assert reread(february).balance_due_minor == 300
    ledger.payment_reverse(actor=ACTOR, payment=pay, reason="wire bounced")
    return january, february


def test_a_bounced_overpayment_takes_back_the_credit_it_put_on_other_invoices(entity, buyer, jan, feb):
    january, february = _overpaid_then_bounced(entity, buyer, jan, feb)
    today = date(2026, 6, 1)
    account = partner_accounts(buyer, today)["USD"]
    # nothing was paid: all 16.00 is open and overdue, on its invoices, where reminders see it
    assert (account.balance_minor, account.open_minor, account.overdue_minor) == (1600, 1600, 1600)
    assert (reread(february).status, reread(february).balance_due_minor) == ("issued", 600)
    assert (reread(january).status, reread(january).balance_due_minor) == ("issued", 1000)
    assert credit_on_account(buyer, "USD") == 0
    assert aging(entity, today)[0]["total"] == 1600


def test_the_dashboards_credit_on_account_is_each_partners_own_credit(entity, buyer):
    from leadbill.invoicing.services import adjustment_create
    from leadbill.receivables.models import Entry, EntryKind
    from tests.factories import make_partner

    green = make_partner(entity, code="green", currency="USD")
    adjustment_create(actor=ACTOR, partner=green, amount_minor=-300, reason="goodwill")
    credit_note_issue(actor=ACTOR, partner=green, issue_date=date(2026, 3, 6))
    # the buyer owes 3.00 on no invoice (a refund booked against credit a later correction took back)
    Entry.objects.create(entity=entity, partner=buyer, currency="USD", kind=EntryKind.REFUND, amount_minor=300,
                         occurred_on=date(2026, 3, 7), created_by=ACTOR)  # fmt: skip
    figures = entity_receivables(entity, date(2026, 6, 1))
    assert figures["credit_on_account"] == [{"currency": "USD", "amount": 300}]  # green's, not netted to 0


@pytest.mark.parametrize(
    ("paid", "returned", "on_account", "status"),
    [(0, 1, 0, "written_off"), (600, 2, 0, "paid"), (600, 3, 200, "paid")],
    ids=["nothing paid", "credit equal to the loss", "credit beyond the loss"],
)
def test_a_return_of_a_lead_on_a_written_off_invoice_lowers_the_loss_before_any_credit_on_account(
    entity, buyer, jan, paid, returned, on_account, status
):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))  # 10.00
    inv = Invoice.objects.get(kind="invoice")
    if paid:
        payment_record(actor=ACTOR, invoice=inv, amount_minor=paid, paid_on=date(2026, 2, 5))
    ledger.invoice_write_off(actor=ACTOR, invoice=inv, reason="partner insolvent")
    for lead in leads[:returned]:
        accept_return(lead, FEB_2)
    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 10))
    # what the partner never paid is not refundable: only a credit beyond the loss is on account
    assert credit_on_account(buyer, "USD") == on_account
    assert reread(inv).status == status
    assert partner_accounts(buyer)["USD"].balance_minor == -on_account


def test_ledger_entries_written_today_carry_the_entitys_own_date_not_the_servers(monkeypatch):
    """23:30 UTC on 1 March is already 2 March in Tokyo: a refund or write-off dated 1 March would be a day off."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from leadbill.domain import periods
    from leadbill.receivables.models import Entry, EntryKind
    from tests.factories import make_entity, make_partner

    entity = make_entity(timezone="Asia/Tokyo", currency="JPY")
    partner = make_partner(entity, code="tokyo", currency="JPY")
    make_plan(partner, "flat", {"price": "200"})
    make_deliveries(partner, 5, datetime(2026, 1, 10, tzinfo=UTC))
    issue(entity, periods.month(2026, 1, "Asia/Tokyo"), issue_date=date(2026, 2, 1))
    inv = Invoice.objects.get(partner=partner)
    pay = payment_record(actor=ACTOR, invoice=inv, amount_minor=1500, paid_on=date(2026, 2, 5))  # 500 over
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    ledger.credit_refund(actor=ACTOR, partner=partner, currency="JPY", amount_minor=500)
    ledger.payment_reverse(actor=ACTOR, payment=pay, reason="bounced")
    ledger.invoice_write_off(actor=ACTOR, invoice=inv, reason="insolvent")
    dated = dict(Entry.objects.filter(partner=partner).exclude(kind=EntryKind.INVOICE)
                 .exclude(kind=EntryKind.PAYMENT).values_list("kind", "occurred_on"))  # fmt: skip
    assert dated == {EntryKind.REFUND: date(2026, 3, 2), EntryKind.PAYMENT_REVERSAL: date(2026, 3, 2),
                     EntryKind.WRITE_OFF: date(2026, 3, 2)}  # fmt: skip


def test_switching_to_automatic_spends_credit_already_on_account_at_once(entity, buyer, jan, feb):
    from leadbill.entities.services import entity_details_set

    entity.credit_on_account = "manual"
    entity.save()
    inv, _ = january(entity, buyer, jan)  # 10.00
    payment_record(actor=ACTOR, invoice=inv, amount_minor=1250, paid_on=date(2026, 2, 5))  # 2.50 on account
    make_deliveries(buyer, 5, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))  # 10.00, left open: the entity applies by hand
    february = Invoice.objects.get(period_key="2026-02")
    assert (reread(february).balance_due_minor, credit_on_account(buyer, "USD")) == (1000, 250)

    entity_details_set(actor="user:admin", entity=entity, details={"credit_on_account": "automatic"})

    assert (reread(february).balance_due_minor, credit_on_account(buyer, "USD")) == (750, 0)
    assert partner_accounts(buyer)["USD"].balance_minor == 750  # what the partner owes did not change
    event = AuditEvent.objects.get(action="credit.applied")
    assert event.data["applied"] == {february.number: 250}
    # switching back and forth again finds nothing left to spend, and writes no empty audit row
    entity_details_set(actor="user:admin", entity=entity, details={"credit_on_account": "manual"})
    entity_details_set(actor="user:admin", entity=entity, details={"credit_on_account": "automatic"})
    assert AuditEvent.objects.filter(action="credit.applied").count() == 1
