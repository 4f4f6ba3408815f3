"""Reads of invoicing for the console: what was billed per month."""

from datetime import date

import pytest

from leadbill.invoicing.models import Invoice
from leadbill.invoicing.selectors import billed_by_month
from leadbill.invoicing.services import credit_note_issue, invoice_void
from tests.factories import make_deliveries, make_plan
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue
from tests.invoicing.test_lifecycle import accept_return

pytestmark = pytest.mark.django_db


def test_billed_by_month_subtracts_credit_notes_in_their_issue_month_and_leaves_out_voids(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan)  # 10.00 for January
    accept_return(leads[0], FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))  # no period
    assert (note.period_first_day, note.total_minor) == (None, -200)
    make_deliveries(buyer, 3, FEB_2)
    issue(entity, feb)
    february = Invoice.objects.get(kind="invoice", period_key="2026-02")
    invoice_void(actor=ACTOR, invoice=february, reason="wrong price")  # void, and its reversal, count for nothing
    issue(entity, feb)  # 6.00 for February, billed again
    assert billed_by_month(entity, [(2026, 1), (2026, 2)]) == {(2026, 1, "USD"): 1000, (2026, 2, "USD"): 400}
