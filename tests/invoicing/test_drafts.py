"""Drafts for review: leads reserved, numbers only at issue, discarding frees everything."""

from datetime import UTC, date, datetime, timedelta

import pytest

from leadbill.deliveries.models import Return
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import BilledLead, CreditedLead, Invoice, LedgerEntry
from leadbill.invoicing.services import (
    adjustment_create,
    invoice_discard,
    invoice_issue,
    invoice_run_issue,
    invoice_void,
    invoices_issue_drafts,
    payment_record,
    topup_record,
)
from tests.factories import make_deliveries, make_partner, make_plan, summarise
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, issue

pytestmark = pytest.mark.django_db


def draft_run(entity, period, **kw):
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=period, draft=True, **kw)
    assert result.failures == {}
    return result


def test_a_draft_reserves_its_leads_but_has_no_number(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 3, JAN_2)
    result = draft_run(entity, jan)
    draft = Invoice.objects.get()
    assert (draft.status, draft.number, draft.sequence, draft.issue_date, draft.total_minor) == (
        "draft", None, None, None, 600,
    )  # fmt: skip
    assert result.run.summary["drafts"] == [draft.pk] and result.run.summary["issued"] == []
    assert BilledLead.objects.filter(invoice=draft).count() == 3
    again = draft_run(entity, jan)
    assert again.skipped == [buyer.code] and Invoice.objects.count() == 1


def test_issuing_drafts_allocates_gapless_numbers_in_partner_order(entity, jan):
    partners = [make_partner(entity, code=code, currency="USD") for code in ("charlie", "alpha", "bravo")]
    for p in partners:
        make_plan(p, "flat", {"price": "1.00"})
        make_deliveries(p, 1, JAN_2)
    draft_run(entity, jan)
    issued = invoices_issue_drafts(actor=ACTOR, entity=entity, period=jan, issue_date=date(2026, 2, 3))
    assert [(i.partner.code, i.number) for i in issued] == [
        ("alpha", "INV-000001"), ("bravo", "INV-000002"), ("charlie", "INV-000003"),
    ]  # fmt: skip
    inv = Invoice.objects.get(partner__code="alpha")
    assert (inv.status, inv.issue_date, inv.due_date) == ("issued", date(2026, 2, 3), date(2026, 3, 5))
    with pytest.raises(DomainError, match="only drafts"):
        invoice_issue(actor=ACTOR, invoice=inv)


def test_issuing_a_draft_freezes_the_partner_details_as_they_are_then(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "1.00"})
    make_deliveries(buyer, 1, JAN_2)
    draft_run(entity, jan)
    buyer.legal_name = "Blue River Insurance LLC (renamed)"
    buyer.save()
    inv = invoice_issue(actor=ACTOR, invoice=Invoice.objects.get())
    assert inv.buyer["name"] == "Blue River Insurance LLC (renamed)"


def test_discarding_a_draft_frees_its_leads_credits_and_adjustments(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    Return.objects.create(entity=entity, delivery=leads[0], reason="fake", status="accepted",
                          requested_at=FEB_2, decided_at=FEB_2)  # fmt: skip
    summarise([leads[0]])
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-100, reason="goodwill")
    make_deliveries(buyer, 2, FEB_2)
    draft_run(entity, feb)
    draft = Invoice.objects.get(status="draft")
    assert draft.total_minor == 400 - 200 - 100
    invoice_discard(actor=ACTOR, invoice=draft)
    assert not Invoice.objects.filter(status="draft").exists()
    assert CreditedLead.objects.count() == 0
    issue(entity, feb)
    inv = Invoice.objects.get(period_key="2026-02")
    assert (inv.number, inv.total_minor) == ("INV-000002", 100)


def test_drafts_take_no_payment_and_are_not_voided(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 1, JAN_2)
    draft_run(entity, jan)
    draft = Invoice.objects.get()
    with pytest.raises(DomainError):
        payment_record(actor=ACTOR, invoice=draft, amount_minor=100, paid_on=date(2026, 2, 1))
    with pytest.raises(DomainError, match="discarded"):
        invoice_void(actor=ACTOR, invoice=draft, reason="no")


def test_a_prepay_draft_books_the_balance_only_when_issued(entity, jan):
    prepay = make_partner(entity, code="pp", billing_mode="prepay", currency="USD")
    make_plan(prepay, "flat", {"price": "2.00"})
    make_deliveries(prepay, 5, JAN_2)
    draft_run(entity, jan)
    assert not LedgerEntry.objects.filter(partner=prepay).exists()
    topup_record(actor=ACTOR, partner=prepay, amount_minor=5000, occurred_at=datetime(2026, 1, 20, tzinfo=UTC))
    receipt = invoice_issue(actor=ACTOR, invoice=Invoice.objects.get(), issue_date=date(2026, 2, 1))
    assert (receipt.status, receipt.topups_minor, receipt.closing_balance_minor) == ("paid", 5000, 4000)
    assert LedgerEntry.objects.get(partner=prepay, kind="receipt").amount_minor == -1000
    assert receipt.period_end - timedelta(microseconds=1) == LedgerEntry.objects.get(kind="receipt").occurred_at
