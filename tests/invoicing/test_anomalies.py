"""What the delivery summary flags before anyone issues anything."""

from datetime import UTC, datetime, timedelta

import pytest

from leadbill.invoicing.services import invoice_run_preview
from tests.factories import make_deliveries, make_delivery, make_partner, make_plan
from tests.invoicing.conftest import JAN_2

pytestmark = pytest.mark.django_db


def draft_of(preview, partner):
    (draft,) = [d for d in preview.drafts if d.partner == partner]
    return draft


def test_currency_mismatch_is_flagged_and_not_billed(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 3, JAN_2)
    make_delivery(buyer, JAN_2, currency="EUR")
    d = draft_of(invoice_run_preview(entity=entity, period=jan), buyer)
    assert d.billable == 3 and d.draft.total_minor == 600
    assert "1 deliveries not in USD (not billed)" in d.anomalies


def test_missing_price_is_flagged_for_delivered_plans_and_partners_without_plan(entity, buyer, jan):
    make_plan(buyer, "delivered", {})
    make_delivery(buyer, JAN_2, price="4.00")
    make_delivery(buyer, JAN_2)  # no price on a delivered-price plan
    no_plan = make_partner(entity, code="no-plan", currency="USD")
    make_deliveries(no_plan, 2, JAN_2)
    preview = invoice_run_preview(entity=entity, period=jan)
    assert draft_of(preview, buyer).draft.total_minor == 400
    assert "1 deliveries without a price (not billed)" in draft_of(preview, buyer).anomalies
    assert "2 deliveries without a price (not billed)" in draft_of(preview, no_plan).anomalies
    assert draft_of(preview, no_plan).draft.lines == ()


def test_same_lead_delivered_twice_is_flagged(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_delivery(buyer, JAN_2, lead_id="L-1")
    make_delivery(buyer, JAN_2 + timedelta(hours=1), lead_id="L-1")
    make_delivery(buyer, JAN_2, lead_id="L-2")
    d = draft_of(invoice_run_preview(entity=entity, period=jan), buyer)
    assert "same lead delivered again 1\u00d7" in d.anomalies
    assert d.billable == 3


def test_deliveries_over_the_daily_cap_are_flagged(entity, buyer, jan):
    buyer.cap_daily = 3
    buyer.save()
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, datetime(2026, 1, 7, 10, tzinfo=UTC))
    make_deliveries(buyer, 3, datetime(2026, 1, 8, 10, tzinfo=UTC))
    d = draft_of(invoice_run_preview(entity=entity, period=jan), buyer)
    assert d.anomalies == ["2 over cap on 2026-01-07 (daily cap 3)"]


def test_deliveries_to_an_inactive_partner_are_flagged(entity, buyer, jan):
    buyer.is_active = False
    buyer.save()
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 2, JAN_2)
    d = draft_of(invoice_run_preview(entity=entity, period=jan), buyer)
    assert "2 deliveries to an inactive partner" in d.anomalies


def test_prepay_balance_below_zero_and_credit_limit_are_flagged(entity, jan):
    prepay = make_partner(entity, code="pp", billing_mode="prepay", currency="USD")
    limited = make_partner(entity, code="lim", credit_limit_minor=500, currency="USD")
    for p in (prepay, limited):
        make_plan(p, "flat", {"price": "2.00"})
        make_deliveries(p, 5, JAN_2)
    preview = invoice_run_preview(entity=entity, period=jan)
    assert "prepay balance would fall below zero" in draft_of(preview, prepay).anomalies
    assert "credit limit would be exceeded" in draft_of(preview, limited).anomalies


def test_preview_of_a_period_already_invoiced_lists_the_partner_as_done(entity, buyer, jan):
    from tests.invoicing.helpers import issue

    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 2, JAN_2)
    issue(entity, jan)
    preview = invoice_run_preview(entity=entity, period=jan)
    assert preview.drafts == [] and preview.already_invoiced == [buyer]


def test_daily_weekly_and_monthly_caps_each_count_all_their_deliveries(entity, buyer, jan):
    buyer.cap_daily, buyer.cap_weekly, buyer.cap_monthly = 4, 6, 7
    buyer.save()
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, datetime(2026, 1, 5, 10, tzinfo=UTC))  # Monday: 1 over the daily cap
    make_deliveries(buyer, 3, datetime(2026, 1, 7, 10, tzinfo=UTC))  # same week: 8 in the week
    d = draft_of(invoice_run_preview(entity=entity, period=jan), buyer)
    assert d.anomalies == [
        "1 over cap on 2026-01-05 (daily cap 4)",
        "2 over cap on week of 2026-01-05 (weekly cap 6)",
        "1 over cap on 2026-01 (monthly cap 7)",
    ]


def test_preview_queries_do_not_grow_with_the_number_of_partners(entity, jan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_partners(n, start):
        for i in range(start, start + n):
            kind = i % 3
            p = make_partner(
                entity, code=f"p{i:03d}", currency="USD",
                billing_mode="prepay" if kind == 0 else "credit",
                credit_limit_minor=10_000 if kind == 1 else None, cap_daily=3 if kind == 2 else None,
            )  # fmt: skip
            make_plan(p, "flat", {"price": "1.00"})
            make_deliveries(p, 2, JAN_2)

    add_partners(3, 0)
    with CaptureQueriesContext(connection) as few:
        invoice_run_preview(entity=entity, period=jan)
    add_partners(12, 3)
    with CaptureQueriesContext(connection) as many:
        preview = invoice_run_preview(entity=entity, period=jan)
    assert len(preview.drafts) == 15
    assert len(many.captured_queries) == len(few.captured_queries)
