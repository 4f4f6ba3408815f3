"""Returns, late deliveries, re-runs, prepay receipts, payments, voids and credit notes."""

from datetime import UTC, date, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Return
from leadbill.domain import periods
from leadbill.domain.errors import DomainError, StateError
from leadbill.invoicing.models import Adjustment, BilledLead, CreditedLead, Invoice, LedgerEntry
from leadbill.invoicing.services import (
    adjustment_create,
    credit_note_issue,
    invoice_discard,
    invoice_run_issue,
    invoice_void,
    payment_record,
    topup_record,
)
from leadbill.receivables.selectors import partner_accounts
from tests.factories import TIERS_2_150_1, make_deliveries, make_delivery, make_partner, make_plan, summarise
from tests.invoicing.conftest import FEB_2, JAN_2
from tests.invoicing.helpers import ACTOR, assert_per_lead_detail_matches_lines, issue, lines_of

pytestmark = pytest.mark.django_db


def accept_return(delivery, when=None):
    when = when or delivery.delivered_at + timedelta(hours=1)
    ret = Return.objects.create(
        entity_id=delivery.entity_id, delivery=delivery, reason="bad phone number", status="accepted",
        requested_at=when, decided_at=when, decided_by=ACTOR,
    )  # fmt: skip
    summarise([delivery])
    return ret


def test_return_accepted_before_invoicing_is_not_billed(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 5, JAN_2)
    accept_return(leads[0])
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert (inv.leads_billed, inv.leads_returned, inv.total_minor) == (4, 1, 800)
    assert not BilledLead.objects.filter(delivery=leads[0]).exists()


def test_return_accepted_after_invoicing_credits_its_billed_price_on_the_next_invoice(entity, buyer, jan, feb):
    make_plan(buyer, "graduated", {"tiers": TIERS_2_150_1})
    leads = make_deliveries(buyer, 101, JAN_2)
    issue(entity, jan)
    accept_return(leads[0], FEB_2)  # billed at tier 1: 2.00
    accept_return(leads[100], FEB_2)  # billed at tier 2: 1.50
    make_deliveries(buyer, 10, FEB_2)
    issue(entity, feb)
    inv = Invoice.objects.get(period_key="2026-02")
    assert lines_of(inv) == [("charge", 10, 2000), ("return_credit", 2, -350)]
    assert (inv.total_minor, inv.leads_returned) == (1650, 2)
    assert CreditedLead.objects.count() == 2


def test_credit_note_on_demand_credits_returns_once(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    accept_return(leads[1], FEB_2)
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))
    assert (note.kind, note.total_minor, note.number) == ("credit_note", -200, "CN-000001")
    with pytest.raises(DomainError, match="nothing to credit"):
        credit_note_issue(actor=ACTOR, partner=buyer)
    issue(entity, feb)  # the return is not credited a second time
    assert not Invoice.objects.filter(period_key="2026-02").exists()


def test_rerunning_a_period_issues_nothing_twice(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    first = issue(entity, jan)
    again = issue(entity, jan)
    assert len(first.issued) == 1 and again.issued == [] and again.skipped == [buyer.code]
    assert Invoice.objects.count() == 1


def test_late_delivery_is_billed_next_time_as_prior_period_line_at_its_tier(entity, buyer, jan, feb):
    make_plan(buyer, "graduated", {"tiers": TIERS_2_150_1})
    make_deliveries(buyer, 100, JAN_2)
    issue(entity, jan)
    late = make_delivery(buyer, datetime(2026, 1, 31, 23, 0, tzinfo=UTC))  # arrives after January was invoiced
    make_deliveries(buyer, 2, FEB_2)
    issue(entity, feb)
    inv = Invoice.objects.get(period_key="2026-02")
    assert lines_of(inv) == [("charge", 2, 400), ("prior_period", 1, 150)]
    assert "Prior period 2026-01" in inv.lines.get(kind="prior_period").description
    assert BilledLead.objects.get(delivery=late).invoice == inv
    assert Invoice.objects.get(period_key="2026-01").total_minor == 20000  # the issued invoice never changed


def test_prepay_partner_gets_a_receipt_with_opening_topups_and_closing_balance(entity, jan, feb):
    prepay = make_partner(entity, code="prepaid", billing_mode="prepay", currency="USD")
    make_plan(prepay, "flat", {"price": "2.00"})
    topup_record(actor=ACTOR, partner=prepay, amount_minor=10000, occurred_at=datetime(2026, 1, 1, 9, tzinfo=UTC))
    make_deliveries(prepay, 30, JAN_2)
    issue(entity, jan)
    receipt = Invoice.objects.get()
    assert receipt.kind == "receipt" and receipt.due_date is None
    assert (receipt.opening_balance_minor, receipt.topups_minor, receipt.total_minor,
            receipt.closing_balance_minor) == (0, 10000, 6000, 4000)  # fmt: skip
    make_deliveries(prepay, 10, FEB_2)
    issue(entity, feb)
    feb_receipt = Invoice.objects.get(period_key="2026-02")
    assert (feb_receipt.opening_balance_minor, feb_receipt.closing_balance_minor) == (4000, 2000)
    assert sum(LedgerEntry.objects.filter(partner=prepay).values_list("amount_minor", flat=True)) == 2000


def test_credit_partner_gets_a_bill_due_at_the_end_of_its_terms(entity, buyer, jan):
    buyer.payment_terms_days = 15
    buyer.save()
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 1, JAN_2)
    issue(entity, jan, issue_date=date(2026, 2, 1))
    inv = Invoice.objects.get()
    assert (inv.kind, inv.due_date, inv.payment_terms_days) == ("invoice", date(2026, 2, 16), 15)


def test_partial_payments_then_full_payment_marks_the_invoice_paid(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan)
    inv = Invoice.objects.get()
    payment_record(actor=ACTOR, invoice=inv, amount_minor=400, paid_on=date(2026, 2, 5), reference="wire 1")
    inv.refresh_from_db()
    assert (inv.status, inv.paid_minor, inv.balance_due_minor) == ("partially_paid", 400, 600)
    payment_record(actor=ACTOR, invoice=inv, amount_minor=600, paid_on=date(2026, 2, 6))
    inv.refresh_from_db()
    assert (inv.status, inv.balance_due_minor) == ("paid", 0)
    assert AuditEvent.objects.filter(action="payment.recorded", object_id=str(inv.pk)).count() == 2


def test_void_reverses_with_a_credit_note_and_the_period_can_be_billed_again(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    issue(entity, jan)
    original = Invoice.objects.get()
    note = invoice_void(actor=ACTOR, invoice=original, reason="wrong price agreed")
    original.refresh_from_db()
    assert original.status == "void" and original.total_minor == 1000  # content unchanged
    assert (note.kind, note.total_minor, note.corrects_id) == ("credit_note", -1000, original.pk)
    buyer_plan_fix = make_plan(buyer, "flat", {"price": "1.50"}, effective_from=datetime(2026, 1, 1, tzinfo=UTC))
    assert buyer_plan_fix
    issue(entity, jan)
    reissued = Invoice.objects.get(period_key="2026-01", kind="invoice", status="issued")
    assert (reissued.number, reissued.total_minor) == ("INV-000002", 750)
    assert_per_lead_detail_matches_lines(reissued)
    with pytest.raises(DomainError):
        invoice_void(actor=ACTOR, invoice=original, reason="twice")


def test_paid_invoice_cannot_be_voided(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 1, JAN_2)
    issue(entity, jan)
    inv = Invoice.objects.get()
    payment_record(actor=ACTOR, invoice=inv, amount_minor=100, paid_on=date(2026, 2, 5))
    with pytest.raises(DomainError, match="payments"):
        invoice_void(actor=ACTOR, invoice=inv, reason="oops")


def test_adjustments_are_billed_once_on_the_next_invoice(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, JAN_2)
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-250, reason="Goodwill for outage 12 Jan")
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert lines_of(inv) == [("charge", 5, 1000), ("adjustment", 1, -250)]
    make_deliveries(buyer, 1, FEB_2)
    issue(entity, feb)
    assert lines_of(Invoice.objects.get(period_key="2026-02")) == [("charge", 1, 200)]


def test_standalone_credit_note_from_a_credit_adjustment(entity, buyer):
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-500, reason="Disputed January leads")
    note = credit_note_issue(actor=ACTOR, partner=buyer, issue_date=date(2026, 2, 3))
    assert (note.total_minor, note.period_start) == (-500, None)
    assert lines_of(note) == [("adjustment", 1, -500)]


def test_numbers_are_gapless_per_entity_and_series(entity, jan):
    partners = [make_partner(entity, code=f"p{i:02d}", currency="USD") for i in range(7)]
    for p in partners:
        make_plan(p, "flat", {"price": "1.00"})
        make_deliveries(p, 2, JAN_2)
    issue(entity, jan, batch_size=3)
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, 8))
    assert list(Invoice.objects.order_by("sequence").values_list("partner__code", flat=True)) == [
        p.code for p in partners
    ]


def test_one_partners_failure_leaves_nothing_partial_and_does_not_stop_the_others(entity, jan):
    good = [make_partner(entity, code=f"good{i}", currency="USD") for i in range(3)]
    bad = make_partner(entity, code="bad", currency="USD")
    for p in [*good, bad]:
        make_plan(p, "flat", {"price": "1.00"})
        make_deliveries(p, 2, JAN_2)
    from leadbill.catalog.models import PricePlan

    PricePlan.objects.filter(partner=bad).update(config={"price": "-1"})  # corrupted outside the services
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=jan)
    assert set(result.failures) == {"bad"} and "negative" in result.failures["bad"]
    assert sorted(inv.partner.code for inv in result.issued) == ["good0", "good1", "good2"]
    assert not Invoice.objects.filter(partner=bad).exists()
    assert not BilledLead.objects.filter(invoice__partner=bad).exists()
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_month_in_a_dst_zone_bills_the_local_month(db):
    from tests.factories import make_entity

    entity = make_entity(timezone="Europe/Berlin", currency="EUR")
    partner = make_partner(entity, currency="EUR")
    make_plan(partner, "flat", {"price": "1.00"})
    make_delivery(partner, datetime(2026, 2, 28, 23, 30, tzinfo=UTC))  # 1 March 00:30 in Berlin
    make_delivery(partner, datetime(2026, 3, 31, 21, 30, tzinfo=UTC))  # 31 March 23:30 CEST
    make_delivery(partner, datetime(2026, 3, 31, 22, 30, tzinfo=UTC))  # 1 April 00:30 CEST
    march = periods.month(2026, 3, "Europe/Berlin")
    assert (march.end - march.start) == timedelta(hours=743)
    issue(entity, march)
    assert Invoice.objects.get().leads_billed == 2


def test_voiding_an_invoice_takes_back_credits_already_given_for_its_returned_leads(entity, buyer, jan, feb):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 1, FEB_2)
    issue(entity, feb)
    february = Invoice.objects.get(period_key="2026-02")
    assert lines_of(february) == [("charge", 1, 200), ("return_credit", 1, -200)]
    january = Invoice.objects.get(period_key="2026-01")
    note = invoice_void(actor=ACTOR, invoice=january, reason="issued to the wrong company")
    assert note.total_minor == -600  # every January charge reversed, the returned lead's too
    march = periods.month(2026, 3, "UTC")
    make_deliveries(buyer, 1, datetime(2026, 3, 2, tzinfo=UTC))
    issue(entity, march)
    # the 2 leads kept are billed again; the returned one is not, and its February credit is taken back
    inv = Invoice.objects.get(period_key="2026-03")
    assert lines_of(inv) == [("charge", 1, 200), ("prior_period", 2, 400), ("adjustment", 1, 200)]
    assert "for returned leads of INV-000001" in inv.lines.get(kind="adjustment").description


def test_voiding_an_invoice_whose_returned_lead_is_credited_on_a_draft_asks_to_discard_the_draft_first(
    entity, buyer, jan, feb
):
    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    january = Invoice.objects.get(period_key="2026-01")
    accept_return(leads[0], FEB_2)
    make_deliveries(buyer, 1, FEB_2)
    issue(entity, feb, draft=True)
    draft = Invoice.objects.get(period_key="2026-02")
    assert lines_of(draft) == [("charge", 1, 200), ("return_credit", 1, -200)]
    with pytest.raises(StateError, match=f"discard draft-{draft.pk} before voiding INV-000001"):
        invoice_void(actor=ACTOR, invoice=january, reason="issued to the wrong company")
    january.refresh_from_db()
    assert january.status == "issued" and not Adjustment.objects.exists()
    invoice_discard(actor=ACTOR, invoice=draft)
    invoice_void(actor=ACTOR, invoice=january, reason="issued to the wrong company")
    assert not Adjustment.objects.exists()  # the credit was never given, so nothing is taken back
    issue(entity, feb)
    # the 2 kept January leads are billed again, the returned one is neither billed nor credited
    february = Invoice.objects.get(period_key="2026-02")
    assert lines_of(february) == [("charge", 1, 200), ("prior_period", 2, 400)]
    assert partner_accounts(buyer)[february.currency].balance_minor == 600  # 600 - 600 void + 600


def test_a_return_of_a_lead_on_a_draft_is_credited_only_after_the_draft_is_issued(entity, buyer, jan, feb):
    from leadbill.invoicing.services import invoice_issue

    make_plan(buyer, "flat", {"price": "2.00"})
    leads = make_deliveries(buyer, 2, JAN_2)
    invoice_run_issue(actor=ACTOR, entity=entity, period=jan, draft=True)
    accept_return(leads[0], FEB_2)
    with pytest.raises(DomainError, match="nothing to credit"):
        credit_note_issue(actor=ACTOR, partner=buyer)
    invoice_issue(actor=ACTOR, invoice=Invoice.objects.get(status="draft"))
    assert credit_note_issue(actor=ACTOR, partner=buyer).total_minor == -200


def test_a_period_that_has_not_ended_is_not_issued_unless_allowed(entity, buyer):
    from django.utils import timezone

    today = timezone.now().date()
    current = periods.month(today.year, today.month, "UTC")
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 1, current.start)
    with pytest.raises(DomainError, match="has not ended yet"):
        invoice_run_issue(actor=ACTOR, entity=entity, period=current)
    assert Invoice.objects.count() == 0
    invoice_run_issue(actor=ACTOR, entity=entity, period=current, allow_open_period=True)
    assert Invoice.objects.count() == 1


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def _loses_deadlocks(monkeypatch, code, times):
    """`_persist` refused for contention `times` times whenever its batch holds partner `code`."""
    from django.db import OperationalError

    from leadbill.invoicing import services

    real, lost = services._persist, []

    def persist(actor, entity, period, drafts, *args, **kwargs):
        if any(d.partner.code == code for d in drafts) and len(lost) < times:
            lost.append(code)
            raise OperationalError("deadlock detected") from _Deadlock("deadlock detected")
        return real(actor, entity, period, drafts, *args, **kwargs)

    monkeypatch.setattr(services, "_persist", persist)
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)
    return lost


def test_a_partner_that_loses_a_deadlock_is_issued_again_not_reported_failed(entity, jan, monkeypatch):
    partners = [make_partner(entity, code=code, currency="USD") for code in ("a", "late", "z")]
    for p in partners:
        make_plan(p, "flat", {"price": "1.00"})
        make_deliveries(p, 2, JAN_2)
    lost = _loses_deadlocks(monkeypatch, "late", times=2)  # the batch, then its first try alone
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=jan)
    assert lost == ["late", "late"]
    assert result.failures == {}
    assert sorted(inv.partner.code for inv in result.issued) == ["a", "late", "z"]
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]
    assert BilledLead.objects.filter(invoice__partner__code="late").count() == 2


def test_a_partner_that_keeps_losing_deadlocks_is_reported_and_the_others_are_issued(entity, jan, monkeypatch):
    from leadbill.invoicing.services import CONTENTION_TRIES

    for code in ("a", "late"):
        make_plan(make_partner(entity, code=code, currency="USD"), "flat", {"price": "1.00"})
        make_deliveries(entity.partners.get(code=code), 2, JAN_2)
    lost = _loses_deadlocks(monkeypatch, "late", times=1 + CONTENTION_TRIES)
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=jan)
    assert len(lost) == 1 + CONTENTION_TRIES
    assert list(result.failures) == ["late"] and "deadlock detected" in result.failures["late"]
    assert [inv.partner.code for inv in result.issued] == ["a"]
    assert not Invoice.objects.filter(partner__code="late").exists()


TIERS_10_THEN_1 = [{"up_to": 2, "price": "10.00"}, {"up_to": None, "price": "1.00"}]


def _closed_by_a_credit_note(entity, buyer, jan):
    """January nets negative (21.00 of leads, a 50.00 goodwill credit): the run issues a credit note for it."""
    make_plan(buyer, "graduated", {"tiers": TIERS_10_THEN_1})
    make_deliveries(buyer, 3, JAN_2)  # 10 + 10 + 1
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-5000, reason="goodwill")
    issue(entity, jan)
    note = Invoice.objects.get(partner=buyer)
    assert (note.kind, note.total_minor, note.period_key) == ("credit_note", 2100 - 5000, "2026-01")
    return note


def test_a_period_a_run_closed_with_a_credit_note_is_not_billed_again(entity, buyer, jan):
    note = _closed_by_a_credit_note(entity, buyer, jan)
    make_deliveries(buyer, 1, datetime(2026, 1, 20, tzinfo=UTC))  # late, then January is run again
    result = issue(entity, jan)
    assert result.skipped == [buyer.code] and result.issued == []
    assert list(Invoice.objects.filter(partner=buyer, period_key="2026-01")) == [note]


def test_a_late_lead_of_a_period_closed_by_a_credit_note_continues_its_tiers(entity, buyer, jan, feb):
    _closed_by_a_credit_note(entity, buyer, jan)
    make_deliveries(buyer, 1, datetime(2026, 1, 20, tzinfo=UTC))
    issue(entity, feb)
    february = Invoice.objects.get(partner=buyer, period_key="2026-02")
    # the fourth January lead is in tier 2 (1.00), as it is when January's document was an invoice
    assert [(line.quantity, line.amount_minor) for line in february.lines.all()] == [(1, 100)]
    line = february.lines.get()
    assert (line.bucket, line.description) == ("2026-01", "Prior period 2026-01: Leads — tier 2 (3+)")


def test_the_database_refuses_a_second_document_for_a_period_a_run_credit_note_bills(entity, buyer, jan):
    from django.db import IntegrityError, transaction

    note = _closed_by_a_credit_note(entity, buyer, jan)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            entity=entity, partner=buyer, kind="invoice", status="draft", series="invoice", currency="USD",
            period_key=note.period_key, period_start=note.period_start, period_end=note.period_end,
        )  # fmt: skip


def test_voiding_an_invoice_that_a_draft_credits_by_an_adjustment_asks_to_discard_the_draft_first(
    entity, buyer, jan, feb
):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    january = Invoice.objects.get(period_key="2026-01")
    adjustment_create(actor=ACTOR, partner=buyer, amount_minor=-100, reason="late leads", corrects=january)
    make_deliveries(buyer, 1, FEB_2)
    issue(entity, feb, draft=True)
    draft = Invoice.objects.get(period_key="2026-02")
    assert lines_of(draft)[-1] == ("adjustment", 1, -100)
    # voided, January's charges no longer stand; the draft would still credit one of them
    with pytest.raises(StateError, match=f"discard draft-{draft.pk} before voiding INV-000001"):
        invoice_void(actor=ACTOR, invoice=january, reason="issued to the wrong company")
