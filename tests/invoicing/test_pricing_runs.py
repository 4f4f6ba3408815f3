"""Each pricing model billed end to end through the invoice run."""

from datetime import UTC, datetime, timedelta

import pytest

from leadbill.invoicing.models import BilledLead, Invoice
from leadbill.invoicing.services import invoice_run_preview
from tests.factories import (
    TIERS_2_150_1,
    make_deliveries,
    make_delivery,
    make_lead_type,
    make_plan,
    make_profile,
)
from tests.invoicing.conftest import JAN_2
from tests.invoicing.helpers import assert_per_lead_detail_matches_lines, issue, lines_of

pytestmark = pytest.mark.django_db


def test_graduated_tiers_bill_350_leads_at_550(entity, buyer, jan):
    make_plan(buyer, "graduated", {"tiers": TIERS_2_150_1})
    make_deliveries(buyer, 350, JAN_2)
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert inv.total_minor == 55000
    assert lines_of(inv) == [("charge", 100, 20000), ("charge", 200, 30000), ("charge", 50, 5000)]
    assert_per_lead_detail_matches_lines(inv)


def test_volume_tiers_bill_all_350_leads_at_the_tier_reached(entity, buyer, jan):
    make_plan(buyer, "volume", {"tiers": TIERS_2_150_1})
    make_deliveries(buyer, 350, JAN_2)
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert inv.total_minor == 35000
    assert lines_of(inv) == [("charge", 350, 35000)]


def test_graduated_tiers_split_across_boundary(entity, buyer, jan):
    make_plan(buyer, "graduated", {"tiers": TIERS_2_150_1})
    make_deliveries(buyer, 101, JAN_2)
    issue(entity, jan)
    assert lines_of(Invoice.objects.get()) == [("charge", 100, 20000), ("charge", 1, 150)]


def test_flat_price_with_sub_cent_unit_price_rounds_line_once(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "0.125"})
    make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert lines_of(inv) == [("charge", 3, 38)]  # 0.375 rounds half-up to 0.38
    assert sorted(BilledLead.objects.values_list("amount_minor", flat=True)) == [12, 13, 13]


def test_delivered_price_bills_each_lead_at_its_own_price(entity, buyer, jan):
    make_plan(buyer, "delivered", {})
    for i, price in enumerate(["1.333333", "1.333333", "1.333334", "7.50"]):
        make_delivery(buyer, JAN_2 + timedelta(minutes=i), price=price)
    issue(entity, jan)
    inv = Invoice.objects.get()
    # One line per delivered price, each its leads' exact sum rounded once: 2 × 1.333333, 1.333334, 7.50.
    assert lines_of(inv) == [("charge", 2, 267), ("charge", 1, 133), ("charge", 1, 750)]
    assert [line.unit_price_micros for line in inv.lines.order_by("position")] == [1_333_333, 1_333_334, 7_500_000]
    assert_per_lead_detail_matches_lines(inv)
    assert list(BilledLead.objects.order_by("delivery__delivered_at").values_list("amount_minor", flat=True)) == [
        133, 134, 133, 750,
    ]  # fmt: skip


def test_price_change_mid_period_applies_from_its_effective_time(entity, buyer, jan):
    make_plan(buyer, "flat", {"price": "2.00"})
    make_plan(buyer, "flat", {"price": "3.00"}, effective_from=datetime(2026, 1, 16, tzinfo=UTC))
    make_deliveries(buyer, 10, datetime(2026, 1, 15, 23, 0, tzinfo=UTC), step_seconds=1)
    make_deliveries(buyer, 5, datetime(2026, 1, 16, 0, 0, tzinfo=UTC), step_seconds=1)
    issue(entity, jan)
    assert lines_of(Invoice.objects.get()) == [("charge", 10, 2000), ("charge", 5, 1500)]


def test_graduated_ranks_continue_across_a_mid_period_plan_change(entity, buyer, jan):
    make_plan(buyer, "graduated", {"tiers": TIERS_2_150_1})
    cheaper = [{"up_to": 100, "price": "1.80"}, {"up_to": None, "price": "0.90"}]
    make_plan(buyer, "graduated", {"tiers": cheaper}, effective_from=datetime(2026, 1, 16, tzinfo=UTC))
    make_deliveries(buyer, 80, datetime(2026, 1, 10, tzinfo=UTC))
    make_deliveries(buyer, 40, datetime(2026, 1, 20, tzinfo=UTC))
    issue(entity, jan)
    # ranks 1-80 old plan tier 1; ranks 81-100 new plan tier 1; ranks 101-120 new plan tier 2
    assert lines_of(Invoice.objects.get()) == [("charge", 80, 16000), ("charge", 20, 3600), ("charge", 20, 1800)]


def test_most_specific_plan_prices_each_delivery(entity, buyer, jan):
    auto, home = make_lead_type(entity, "auto"), make_lead_type(entity, "home")
    ny = make_profile(buyer, code="ny", name="New York")
    make_plan(buyer, "flat", {"price": "1.00"})
    make_plan(buyer, "flat", {"price": "2.00"}, lead_type=home)
    make_plan(buyer, "flat", {"price": "3.00"}, profile=ny)
    make_plan(buyer, "flat", {"price": "4.00"}, profile=ny, lead_type=home)
    make_delivery(buyer, JAN_2, lead_type=auto)
    make_delivery(buyer, JAN_2, lead_type=home)
    make_delivery(buyer, JAN_2, lead_type=auto, profile=ny)
    make_delivery(buyer, JAN_2, lead_type=home, profile=ny)
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert sorted(line.amount_minor for line in inv.lines.all()) == [100, 200, 300, 400]
    assert inv.total_minor == 1000


def test_tax_is_computed_per_rate_on_the_sum_of_lines(entity, buyer, jan):
    buyer.tax_rate_bp = 1900
    buyer.save()
    make_plan(buyer, "flat", {"price": "0.05"})
    make_deliveries(buyer, 3, JAN_2)
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert (inv.subtotal_minor, inv.tax_minor, inv.total_minor) == (15, 3, 18)  # 0.15 x 19 % = 0.0285
    assert inv.taxes == [{"rate": "19.00", "net_minor": 15, "tax_minor": 3}]


def test_preview_shows_what_issue_bills_and_writes_nothing(entity, buyer, jan):
    from leadbill.audit.models import AuditEvent

    make_plan(buyer, "graduated", {"tiers": TIERS_2_150_1})
    make_deliveries(buyer, 120, JAN_2)
    audits = AuditEvent.objects.count()
    preview = invoice_run_preview(entity=entity, period=jan)
    assert AuditEvent.objects.count() == audits
    assert Invoice.objects.count() == 0 and BilledLead.objects.count() == 0
    (draft,) = preview.drafts
    issue(entity, jan)
    inv = Invoice.objects.get()
    assert (draft.draft.total_minor, draft.billable, draft.facts.delivered) == (inv.total_minor, 120, 120)
    assert [(line.quantity, line.amount_minor) for line in draft.draft.lines] == [
        (line.quantity, line.amount_minor) for line in inv.lines.all()
    ]


def test_jpy_invoice_has_no_minor_digits(db, jan):
    from tests.factories import make_entity, make_partner

    entity = make_entity(timezone="Asia/Tokyo", currency="JPY")
    partner = make_partner(entity, currency="JPY")
    make_plan(partner, "flat", {"price": "150.5"})
    make_deliveries(partner, 3, datetime(2026, 1, 10, tzinfo=UTC))
    from leadbill.domain import periods

    issue(entity, periods.month(2026, 1, "Asia/Tokyo"))
    assert Invoice.objects.get().total_minor == 452  # 451.5 yen rounds half-up
