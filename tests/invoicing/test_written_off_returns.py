"""A run credits a returned lead of a written-off invoice by a credit note that lowers the loss.

Netted on the next invoice, that credit would lower what the partner owes now for a lead it never
paid: the business would pay twice for one bad lead (once in the write-off, once in the credit).
"""

from __future__ import annotations

from datetime import date

import pytest

from leadbill.invoicing.models import CreditedLead, Invoice
from leadbill.invoicing.services import invoice_run_preview, payment_record
from leadbill.receivables import services as ledger
from leadbill.receivables.models import Entry, EntryKind
from leadbill.receivables.selectors import credit_on_account, partner_accounts
from tests.factories import make_deliveries, make_partner, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue, lines_of
from tests.invoicing.test_lifecycle import accept_return

pytestmark = pytest.mark.django_db


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


def test_the_next_invoice_bills_in_full_and_a_credit_note_lowers_the_loss(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 3, FEB_2)  # 6.00

    issue(entity, feb, issue_date=date(2026, 3, 1))

    february = Invoice.objects.get(kind="invoice", period_key="2026-02")
    assert lines_of(february) == [("charge", 3, 600)]  # no credit line: the partner never paid that lead
    assert february.total_minor == 600
    note = Invoice.objects.get(kind="credit_note")
    assert (note.total_minor, note.run_id, note.issue_date) == (-200, february.run_id, date(2026, 3, 1))
    assert CreditedLead.objects.get().invoice == note
    assert loss_of(january) == 800  # 10.00 written off, lowered by the 2.00 credited
    assert Invoice.objects.get(pk=january.pk).status == "written_off"
    assert credit_on_account(buyer, "USD") == 0
    assert partner_accounts(buyer)["USD"].balance_minor == 600  # February only, not 4.00


def test_a_partner_with_no_new_leads_gets_the_credit_note_alone(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    accept_return(leads[1], FEB_2)

    result = issue(entity, feb, issue_date=date(2026, 3, 1))

    note = Invoice.objects.get(kind="credit_note")
    assert [inv.number for inv in result.issued] == [note.number]
    assert note.total_minor == -400
    assert not Invoice.objects.filter(period_key="2026-02").exists()
    assert loss_of(january) == 600
    assert partner_accounts(buyer)["USD"].balance_minor == 0
    issue(entity, feb, issue_date=date(2026, 3, 2))  # a second run finds nothing left to credit
    assert Invoice.objects.filter(kind="credit_note").count() == 1


def test_what_the_partner_paid_beyond_the_loss_is_credit_spent_on_the_next_invoice(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan, paid=600)  # 4.00 written off
    for lead in leads[:3]:  # 6.00 returned: 4.00 lowers the loss, 2.00 was paid for bad leads
        accept_return(lead, FEB_2)
    make_deliveries(buyer, 3, FEB_2)

    issue(entity, feb, issue_date=date(2026, 3, 1))

    february = Invoice.objects.get(kind="invoice", period_key="2026-02")
    assert february.total_minor == 600
    assert loss_of(january) == 0
    assert Invoice.objects.get(kind="credit_note").total_minor == -600
    # the entity applies credit automatically: the 2.00 the partner paid for bad leads pays February
    assert (Invoice.objects.get(pk=february.pk).balance_due_minor, credit_on_account(buyer, "USD")) == (400, 0)
    assert partner_accounts(buyer)["USD"].balance_minor == 400


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
    assert Invoice.objects.get(kind="credit_note").partner == buyer


def test_the_preview_names_the_written_off_invoice_and_the_amount(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 3, FEB_2)

    preview = invoice_run_preview(entity=entity, period=feb)

    (pd,) = preview.drafts
    assert pd.draft.total_minor == 600
    assert any(
        "1 returned lead of written-off " + january.number in a and "2.00 USD" in a and "lowers the loss" in a
        for a in pd.anomalies
    ), pd.anomalies
    assert not Invoice.objects.filter(kind="credit_note").exists()  # a preview writes nothing


def test_a_draft_run_leaves_the_credit_due_for_the_run_that_issues(entity, buyer, jan, feb):
    january, leads = written_off_january(entity, buyer, jan)
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 3, FEB_2)

    issue(entity, feb, issue_date=date(2026, 3, 1), draft=True)

    assert not Invoice.objects.filter(kind="credit_note").exists()
    assert not CreditedLead.objects.exists()
    assert loss_of(january) == 1000
