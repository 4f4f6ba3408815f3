"""Safety bounds in a run: an absurd document is held and named, released by a person, then issued."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadbill.audit.models import AuditEvent
from leadbill.domain import periods
from leadbill.domain.errors import DomainError, StateError
from leadbill.invoicing.bounds import history_of, safety_bounds_set, safety_release
from leadbill.invoicing.drafting import run_partners
from leadbill.invoicing.models import Invoice, InvoiceRun, InvoiceRunItem, ItemState, SafetyRelease
from leadbill.invoicing.selectors import preview_as_dict, preview_totals
from leadbill.invoicing.services import invoice_run_issue, invoice_run_preview, invoice_run_start
from tests.factories import make_deliveries, make_lead_type, make_partner, make_plan
from tests.invoicing.helpers import ACTOR, issue

pytestmark = pytest.mark.django_db

APR = periods.month(2026, 4, "UTC")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def normal_months(partner, months=(1, 2, 3), leads=10):
    """Months of ordinary invoices: `leads` leads a month at the partner's plan (2.50 from 2026-01-01)."""
    for month in months:
        make_deliveries(partner, leads, utc(2026, month, 5))
        issue(partner.entity, periods.month(2026, month, "UTC"), partners=[partner.code])


def draft_of(preview, partner):
    (draft,) = [d for d in preview.drafts if d.partner == partner]
    return draft


@pytest.fixture
def regular(entity, buyer):
    """Blue River: three months of 10 leads at 2.50 (25.00 USD each), then April at 250 (typed for 2.50)."""
    make_plan(buyer, "flat", {"price": "2.50"}, effective_from=utc(2026, 1, 1))
    normal_months(buyer)
    make_plan(buyer, "flat", {"price": "250"}, effective_from=utc(2026, 4, 1))
    make_deliveries(buyer, 10, utc(2026, 4, 5))
    return buyer


def test_250_typed_for_2_50_after_normal_invoices_is_held_named_and_not_issued(entity, regular):
    preview = invoice_run_preview(entity=entity, period=APR)
    d = draft_of(preview, regular)
    assert d.draft.total_minor == 250_000
    assert d.held[0] == "total 2500.00 USD is 100\u00d7 the average of its last 3 documents (25.00 USD; bound 5\u00d7)"
    assert "unit price 250.00 on \u201cLeads \u2014 flat\u201d is more than 10\u00d7 above the 2.50" in d.held[1]
    assert not any("250.00" in a for a in d.anomalies)  # held reasons are their own list, not anomalies
    (shown,) = preview_as_dict(preview)["partners"]
    assert shown["held"] == d.held
    assert preview_totals(preview, without_held=True) == {} and preview_totals(preview)["USD"]["documents"] == 1

    result = invoice_run_issue(actor=ACTOR, entity=entity, period=APR)
    assert result.issued == [] and result.failures == {}
    assert result.held == {regular.code: d.held}
    assert result.run.summary["held"] == {regular.code: d.held}
    assert not Invoice.objects.filter(partner=regular, period_key="2026-04").exists()


def test_release_is_audited_and_the_next_run_issues_the_document(entity, regular):
    with pytest.raises(DomainError):
        safety_release(actor=ACTOR, entity=entity, partner=regular, period=APR, reason="  ")
    release = safety_release(actor=ACTOR, entity=entity, partner=regular, period=APR,
                             reason="Agreed premium price for April, confirmed by phone")  # fmt: skip
    assert (release.total_minor, release.currency, release.released_by) == (250_000, "USD", ACTOR)
    event = AuditEvent.objects.get(action="safety_bounds.released")
    assert event.data["partner"] == regular.code and event.data["total_minor"] == 250_000
    assert (
        event.data["reason"] == "Agreed premium price for April, confirmed by phone" and len(event.data["reasons"]) == 2
    )

    assert draft_of(invoice_run_preview(entity=entity, period=APR), regular).held == []
    (inv,) = issue(entity, APR, partners=[regular.code]).issued
    assert inv.total_minor == 250_000
    with pytest.raises(StateError, match="nothing of blue-river is held"):
        safety_release(actor=ACTOR, entity=entity, partner=regular, period=APR, reason="again")


def test_a_release_covers_its_total_and_growth_after_it_holds_again(entity, regular):
    safety_release(actor=ACTOR, entity=entity, partner=regular, period=APR, reason="premium month")
    make_deliveries(regular, 1, utc(2026, 4, 20))  # one more lead arrives after the release
    d = draft_of(invoice_run_preview(entity=entity, period=APR), regular)
    assert d.held[0] == "total 2750.00 USD is above the 2500.00 USD released for this period: held again"
    assert invoice_run_issue(actor=ACTOR, entity=entity, period=APR).held == {regular.code: d.held}
    safety_release(actor=ACTOR, entity=entity, partner=regular, period=APR, reason="premium month, 11 leads")
    assert SafetyRelease.objects.filter(partner=regular).count() == 2  # a history: both releases kept
    assert issue(entity, APR).issued[0].total_minor == 275_000


def test_release_refuses_a_document_that_changed_since_it_was_shown(entity, regular):
    with pytest.raises(StateError, match="changed since it was shown"):
        safety_release(actor=ACTOR, entity=entity, partner=regular, period=APR, reason="ok", seen_total_minor=1)
    assert not SafetyRelease.objects.exists()


def test_a_partner_without_history_under_the_entity_limit_is_issued(entity, buyer):
    safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=5, unit_price_multiple=10, limit_minor=100_000)
    make_plan(buyer, "flat", {"price": "250"}, effective_from=utc(2026, 1, 1))
    make_deliveries(buyer, 3, utc(2026, 1, 5))  # 750.00, first invoice: no history to compare
    (inv,) = issue(entity, periods.month(2026, 1, "UTC")).issued
    assert inv.total_minor == 75_000


def test_the_entity_limit_holds_a_first_invoice(entity, buyer):
    safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=5, unit_price_multiple=10, limit_minor=50_000)
    assert AuditEvent.objects.filter(action="entity.safety_bounds").count() == 1
    make_plan(buyer, "flat", {"price": "250"}, effective_from=utc(2026, 1, 1))
    make_deliveries(buyer, 3, utc(2026, 1, 5))
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 1, "UTC"))
    assert result.held == {buyer.code: ["total 750.00 USD is over the entity's limit of 500.00 USD per document"]}
    assert result.issued == []


def test_the_limit_is_not_compared_with_documents_in_another_currency(entity):
    safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=5, unit_price_multiple=10, limit_minor=50_000)
    euro = make_partner(entity, code="euro-buyer", currency="EUR")
    make_plan(euro, "flat", {"price": "250"}, effective_from=utc(2026, 1, 1))
    make_deliveries(euro, 3, utc(2026, 1, 5))
    assert issue(entity, periods.month(2026, 1, "UTC")).issued[0].total_minor == 75_000


def test_more_lines_than_any_earlier_document_is_held_after_three_documents(entity, buyer):
    make_plan(buyer, "flat", {"price": "2.50"}, effective_from=utc(2026, 1, 1))
    normal_months(buyer)
    home = make_lead_type(entity, "home")
    make_plan(buyer, "flat", {"price": "3.00"}, lead_type=home, effective_from=utc(2026, 1, 1))
    make_deliveries(buyer, 10, utc(2026, 4, 5))
    make_deliveries(buyer, 2, utc(2026, 4, 6), lead_type=home)  # a second lead type: a second line
    d = draft_of(invoice_run_preview(entity=entity, period=APR), buyer)
    assert d.held == ["2 usage lines, more than any of its 3 earlier documents (at most 1)"]


def test_usual_month_after_history_is_issued(entity, buyer):
    make_plan(buyer, "flat", {"price": "2.50"}, effective_from=utc(2026, 1, 1))
    normal_months(buyer, months=(1, 2, 3, 4))
    assert Invoice.objects.filter(partner=buyer).count() == 4


def test_a_scheduled_run_holds_the_same_way(entity, regular, django_capture_on_commit_callbacks):
    other = make_partner(entity, code="calm", currency="USD")
    make_plan(other, "flat", {"price": "2.00"}, effective_from=utc(2026, 1, 1))
    make_deliveries(other, 4, utc(2026, 4, 7))
    with django_capture_on_commit_callbacks(execute=True):
        run = invoice_run_start(actor="system:scheduler", entity=entity, period=APR)
    run.refresh_from_db()
    assert run.finished_at is not None
    assert list(run.summary["held"]) == [regular.code] and run.summary["failures"] == {}
    assert run.summary["issued"] == [Invoice.objects.get(partner=other).number]
    item = InvoiceRunItem.objects.get(run=run, partner=regular)
    assert item.state == ItemState.HELD and item.error.split("\n") == run.summary["held"][regular.code]


def test_history_is_read_in_a_constant_number_of_queries(entity):
    partners = []
    for i in range(6):
        p = make_partner(entity, code=f"p-{i}", currency="USD")
        make_plan(p, "flat", {"price": "2.50"}, effective_from=utc(2026, 1, 1))
        partners.append(p)
    for p in partners[:2]:
        normal_months(p, months=(1,))
    few = run_partners(entity, [p.code for p in partners[:2]])
    with CaptureQueriesContext(connection) as two:
        history_of(few, APR)
    for p in partners[2:]:
        normal_months(p, months=(1, 2))
    every = run_partners(entity)
    with CaptureQueriesContext(connection) as six:
        history = history_of(every, APR)
    assert len(two) == len(six) == 4
    assert history.history(partners[5].pk).documents == 2


def test_thresholds_are_checked(entity):
    with pytest.raises(DomainError):
        safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=1, unit_price_multiple=10, limit_minor=None)
    with pytest.raises(DomainError):
        safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=5, unit_price_multiple=10, limit_minor=0)
    safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=None, unit_price_multiple=None, limit_minor=None)
    entity.refresh_from_db()
    assert (entity.bound_total_multiple, entity.bound_unit_price_multiple, entity.bound_limit_minor) == (None,) * 3
    assert InvoiceRun.objects.count() == 0


def test_the_previous_plan_version_is_the_yardstick_of_a_partner_never_billed(entity, buyer):
    make_plan(buyer, "flat", {"price": "2.50"}, effective_from=utc(2026, 1, 1))
    make_plan(buyer, "flat", {"price": "250"}, effective_from=utc(2026, 4, 1))  # the price changed before any invoice
    make_deliveries(buyer, 2, utc(2026, 4, 5))
    d = draft_of(invoice_run_preview(entity=entity, period=APR), buyer)
    assert d.held == [
        "unit price 250.00 on \u201cLeads \u2014 flat\u201d is more than 10\u00d7 above the 2.50 this scope had before"
    ]
