"""A returned lead of a written-off invoice lowers the loss; it is never netted on a later document.

Netted on the next invoice, that credit would lower what the partner owes now for a lead it never
paid: the business would lose the lead twice (once in the write-off, once in the credit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadbill.documents.build import document_of
from leadbill.domain.errors import StateError
from leadbill.invoicing.models import Adjustment, CreditedLead, Invoice, LedgerEntry
from leadbill.invoicing.services import (
    adjustment_create,
    credit_note_issue,
    invoice_discard,
    invoice_run_preview,
    payment_record,
)
from leadbill.receivables import services as ledger
from leadbill.receivables.models import Entry, EntryKind
from leadbill.receivables.selectors import credit_on_account, partner_accounts
from tests.factories import make_deliveries, make_partner, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue, lines_of
from tests.invoicing.test_lifecycle import accept_return

pytestmark = pytest.mark.django_db

MAR_2 = datetime(2026, 3, 2, tzinfo=UTC)


def written_off_january(entity, buyer, jan, *, paid=0):
    """January: 5 leads at 2.00 (10.00), `paid` of it paid, the rest written off."""
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    inv = Invoice.objects.get(kind="invoice", period_key="2026-01")
    if paid:
        payment_record(actor=ACTOR, invoice=inv, amount_minor=paid, paid_on=date(2026, 2, 5))
    ledger.invoice_write_off(actor=ACTOR, invoice=inv, reason="partner insolvent")
    return inv, leads


def loss_of(inv) -> int:
    return -sum(Entry.objects.filter(invoice=inv, kind=EntryKind.WRITE_OFF).values_list("amount_minor", flat=True))


def test_the_next_invoice_bills_in_full_and_the_credit_note_lowers_the_loss(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 3, FEB_2)  # 6.00

    issue(entity, feb, issue_date=date(2026, 3, 1))

    february = Invoice.objects.get(kind="invoice", period_key="2026-02")
    assert lines_of(february) == [("charge", 3, 600)]  # no credit line: the partner never paid that lead
    assert not CreditedLead.objects.exists()  # still due, for a credit note
    assert partner_accounts(buyer)["USD"].balance_minor == 600

    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 2))

    assert note.total_minor == -200
    assert CreditedLead.objects.get().invoice == note
    assert loss_of(january) == 800  # 10.00 written off, lowered by the 2.00 credited
    assert Invoice.objects.get(pk=january.pk).status == "written_off"
    assert credit_on_account(buyer, "USD") == 0
    assert partner_accounts(buyer)["USD"].balance_minor == 600  # February only, not 4.00


def test_the_preview_names_the_written_off_invoice_even_without_new_leads(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)

    (pd,) = invoice_run_preview(entity=entity, period=feb).drafts

    assert pd.draft.total_minor == 0
    assert any(
        a.startswith(f"1 returned lead of written-off {january.number} (2.00 USD) not netted here")
        for a in pd.anomalies
    ), pd.anomalies
    assert issue(entity, feb, issue_date=date(2026, 3, 1)).issued == []  # nothing to bill, nothing netted


def test_what_the_partner_paid_beyond_the_loss_is_credit_spent_on_the_next_invoice(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan, paid=600)  # 4.00 written off
    for lead in leads[:3]:  # 6.00 returned: 4.00 lowers the loss, 2.00 was paid for bad leads
        accept_return(lead, FEB_2)
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    february = Invoice.objects.get(kind="invoice", period_key="2026-02")
    assert february.total_minor == 600

    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 2))

    assert loss_of(january) == 0
    # the entity applies credit automatically: the 2.00 the partner paid for bad leads pays February
    assert (Invoice.objects.get(pk=february.pk).balance_due_minor, credit_on_account(buyer, "USD")) == (400, 0)
    assert partner_accounts(buyer)["USD"].balance_minor == 400


def test_each_written_off_invoice_takes_only_its_own_leads_credit(entity, buyer, jan, feb):
    entity.credit_on_account = "manual"
    entity.save()
    make_plan(buyer, "flat", {"price": "2.00"})
    jan_leads = make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(period_key="2026-01")
    payment_record(actor=ACTOR, invoice=january, amount_minor=900, paid_on=date(2026, 2, 5))
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="insolvent")  # 1.00 lost
    feb_leads = make_deliveries(buyer, 5, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    february = Invoice.objects.get(period_key="2026-02")
    ledger.invoice_write_off(actor=ACTOR, invoice=february, reason="insolvent")  # 10.00 lost
    accept_return(jan_leads[0], MAR_2)  # 2.00: 1.00 lowers January's loss, 1.00 was paid for a bad lead
    accept_return(feb_leads[0], MAR_2)  # 2.00: lowers February's loss

    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 3))

    assert (loss_of(january), loss_of(february), credit_on_account(buyer, "USD")) == (0, 800, 100)


def test_a_credit_note_with_tax_shares_its_total_by_each_invoices_lines(entity, jan, feb):
    taxed = make_partner(entity, code="taxed", currency="USD", tax_rate_bp=1000)
    make_plan(taxed, "flat", {"price": "2.00"})
    jan_leads = make_deliveries(taxed, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))  # 11.00 with tax
    feb_leads = make_deliveries(taxed, 5, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1))
    january, february = Invoice.objects.filter(partner=taxed).order_by("sequence")
    for inv in (january, february):
        ledger.invoice_write_off(actor=ACTOR, invoice=inv, reason="insolvent")
    accept_return(jan_leads[0], MAR_2)
    accept_return(feb_leads[0], MAR_2)

    note = credit_note_issue(actor=ACTOR, partner=taxed, issue_date=date(2026, 3, 3))

    assert note.total_minor == -440
    assert (loss_of(january), loss_of(february)) == (880, 880)  # 2.20 each, tax included
    assert partner_accounts(taxed)["USD"].balance_minor == 0


def test_a_prepay_partner_gets_back_only_what_it_paid_not_the_written_off_part(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan, paid=400)  # 6.00 written off
    buyer.billing_mode = "prepay"
    buyer.save()
    for lead in leads[:4]:  # 8.00: 6.00 lowers the loss, 2.00 was paid for bad leads
        accept_return(lead, FEB_2)

    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 2))

    assert note.total_minor == -800
    assert loss_of(january) == 0
    refunds = list(LedgerEntry.objects.filter(invoice=note).values_list("kind", "amount_minor"))
    assert refunds == [("refund", 200)]  # to the prepay balance: what it paid, not the 6.00 it never paid


def test_returns_of_an_open_invoice_still_net_on_the_run_beside_a_written_off_one(entity, buyer, jan, feb):
    _, jan_leads = written_off_january(entity, buyer, jan)
    other = make_partner(entity, code="green-hill", currency="USD")
    make_plan(other, "flat", {"price": "2.00"})
    other_leads = make_deliveries(other, 2, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))  # the second partner's January
    accept_return(jan_leads[0], FEB_2)
    accept_return(other_leads[0], FEB_2)
    make_deliveries(other, 3, FEB_2)

    issue(entity, feb, issue_date=date(2026, 3, 1))

    other_feb = Invoice.objects.get(partner=other, period_key="2026-02")
    assert lines_of(other_feb)[-1] == ("return_credit", 1, -200)  # an open invoice's return nets as before
    assert other_feb.total_minor == 400
    assert not Invoice.objects.filter(kind="credit_note").exists()


def test_a_run_credit_note_does_not_print_what_the_run_noticed(entity, buyer, jan, feb):
    _, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-500, reason="goodwill")
    make_deliveries(buyer, 1, FEB_2)  # 2.00 - 5.00: the period nets negative

    issue(entity, feb, issue_date=date(2026, 3, 1))

    note = Invoice.objects.get(kind="credit_note", period_key="2026-02")
    assert any("written-off" in n for n in note.notes)  # kept for finance on the console
    assert document_of(note).notes == ()  # not printed for the buyer


def test_an_invoice_is_not_written_off_while_a_draft_nets_its_returns(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(period_key="2026-01")
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1), draft=True)
    draft = Invoice.objects.get(status="draft")
    assert lines_of(draft)[-1] == ("return_credit", 1, -200)

    with pytest.raises(StateError, match=f"draft-{draft.pk} credits {january.number}; discard draft-{draft.pk}"):
        ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="insolvent")

    invoice_discard(actor=ACTOR, invoice=draft)
    ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="insolvent")
    issue(entity, feb, issue_date=date(2026, 3, 1))
    assert lines_of(Invoice.objects.get(period_key="2026-02", status="issued")) == [("charge", 3, 600)]


def test_a_credit_adjustment_for_a_written_off_invoice_lowers_the_loss_and_is_not_netted(entity, buyer, jan, feb):
    january, _ = written_off_january(entity, buyer, jan)
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-300, reason="wrong price", corrects=january)
    other = adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-100, reason="goodwill")
    make_deliveries(buyer, 3, FEB_2)  # 6.00

    (pd,) = invoice_run_preview(entity=entity, period=feb).drafts
    assert f"credit adjustment of 3.00 USD for written-off {january.number} not netted here" in " ".join(pd.anomalies)
    issue(entity, feb, issue_date=date(2026, 3, 1))

    february = Invoice.objects.get(kind="invoice", period_key="2026-02")
    assert february.total_minor == 500  # the goodwill credit nets; the one for January does not
    assert Adjustment.objects.get(pk=other.pk).invoice == february
    credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 3, 2))
    assert loss_of(january) == 700
    assert partner_accounts(buyer)["USD"].balance_minor == 500


def test_an_invoice_is_not_written_off_while_a_draft_nets_an_adjustment_correcting_it(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    january = Invoice.objects.get(period_key="2026-01")
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-300, reason="wrong price", corrects=january)
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb, issue_date=date(2026, 3, 1), draft=True)
    draft = Invoice.objects.get(status="draft")

    with pytest.raises(StateError, match=f"draft-{draft.pk} credits {january.number}; discard draft-{draft.pk}"):
        ledger.invoice_write_off(actor=ACTOR, invoice=january, reason="insolvent")
