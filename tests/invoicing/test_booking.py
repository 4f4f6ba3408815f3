"""What issuing puts on a partner's account: the same whether a run issues at once or a draft is issued later."""

from datetime import UTC, date, datetime

import pytest

from leadbill.domain import periods
from leadbill.invoicing.models import Invoice, LedgerEntry
from leadbill.invoicing.services import invoice_issue, invoice_run_issue, invoice_void, payment_record, topup_record
from leadbill.receivables.selectors import credit_on_account, entity_receivables, partner_accounts
from tests.factories import make_deliveries, make_entity, make_partner, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue
from tests.invoicing.test_lifecycle import accept_return

pytestmark = pytest.mark.django_db


def _two_returns_after_january(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)  # 10.00
    issue(entity, jan, issue_date=date(2026, 2, 1))
    accept_return(leads[0], FEB_2)
    accept_return(leads[1], FEB_2)


@pytest.mark.parametrize("drafted", [False, True], ids=["issued by the run", "drafted, then issued"])
def test_a_runs_credit_note_is_credit_on_account_however_it_was_issued(entity, buyer, jan, feb, drafted):
    _two_returns_after_january(entity, buyer, jan)
    issue(entity, feb, issue_date=date(2026, 3, 1), draft=drafted)
    note = Invoice.objects.get(kind="credit_note")
    if drafted:
        note = invoice_issue(actor=ACTOR, invoice=note, issue_date=date(2026, 3, 1))
    assert (note.status, note.total_minor) == ("issued", -400)
    account = partner_accounts(buyer)["USD"]
    assert account.balance_minor == 600  # 10.00 owed less the 4.00 credited; before, a drafted note lost it


def test_an_invoice_whose_credits_cancel_its_charges_is_paid_not_overdue_and_can_still_be_voided(
    entity, buyer, jan, feb
):
    _two_returns_after_january(entity, buyer, jan)
    make_deliveries(buyer, 2, FEB_2)  # 4.00 of charges, 4.00 of credits
    issue(entity, feb, issue_date=date(2026, 3, 1))
    zero = Invoice.objects.get(period_key="2026-02")
    assert (zero.kind, zero.total_minor, zero.status) == ("invoice", 0, "paid")
    account = partner_accounts(buyer, date(2026, 6, 1))["USD"]
    assert (account.open_invoices, account.overdue_invoices) == (1, 1)  # January only
    overdue = entity_receivables(entity, date(2026, 6, 1))["overdue"]
    assert overdue == [{"currency": "USD", "count": 1, "due": 1000}]
    invoice_void(actor=ACTOR, invoice=zero, reason="charged at the wrong price", leads="rebill")
    zero.refresh_from_db()
    assert zero.status == "void"


def test_credit_a_void_frees_beyond_what_was_open_is_applied_to_the_next_open_invoice(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)  # January 10.00
    issue(entity, jan, issue_date=date(2026, 2, 1))
    make_deliveries(buyer, 3, FEB_2)  # February 6.00
    issue(entity, feb, issue_date=date(2026, 3, 1))
    january, february = Invoice.objects.get(period_key="2026-01"), Invoice.objects.get(period_key="2026-02")
    payment_record(actor=ACTOR, invoice=january, amount_minor=1300, paid_on=date(2026, 3, 5))  # 3.00 to February
    make_deliveries(buyer, 2, datetime(2026, 3, 2, tzinfo=UTC))  # March 4.00
    issue(entity, periods.month(2026, 3, "UTC"), issue_date=date(2026, 4, 1))
    march = Invoice.objects.get(period_key="2026-03")
    invoice_void(actor=ACTOR, invoice=february, reason="wrong price", leads="cancel")
    march.refresh_from_db()
    assert credit_on_account(buyer, "USD") == 0  # the 3.00 February had is spent on March (automatic)
    assert (march.status, march.balance_due_minor) == ("partially_paid", 100)


@pytest.mark.parametrize("drafted", [False, True], ids=["issued by the run", "drafted, then issued"])
def test_a_weekly_window_receipt_counts_the_top_ups_of_its_own_window_only(drafted):
    tz = "Europe/Berlin"
    entity = make_entity(timezone=tz, currency="EUR")
    partner = make_partner(entity, currency="EUR", billing_mode="prepay")
    make_plan(partner, "flat", {"price": "2.00"})
    window = periods.window(date(2026, 3, 6), 18 * 60, date(2026, 3, 13), 18 * 60, tz)  # Friday 18:00 to Friday
    topup_record(actor=ACTOR, partner=partner, amount_minor=10000, occurred_at=datetime(2026, 3, 6, 18, 30, tzinfo=UTC))
    # Friday 13 March 20:00 in Berlin: after the window closed, so the next window's
    topup_record(actor=ACTOR, partner=partner, amount_minor=5000, occurred_at=datetime(2026, 3, 13, 19, tzinfo=UTC))
    make_deliveries(partner, 3, datetime(2026, 3, 10, tzinfo=UTC))
    invoice_run_issue(actor=ACTOR, entity=entity, period=window, draft=drafted, issue_date=date(2026, 3, 14))
    receipt = Invoice.objects.get(partner=partner)
    if drafted:
        receipt = invoice_issue(actor=ACTOR, invoice=receipt, issue_date=date(2026, 3, 14))
    assert (receipt.topups_minor, receipt.closing_balance_minor) == (10000, 9400)
    booked = LedgerEntry.objects.get(invoice=receipt, kind="receipt")
    assert booked.occurred_at == datetime(2026, 3, 13, 16, 59, 59, 999999, tzinfo=UTC)  # the window's last instant
