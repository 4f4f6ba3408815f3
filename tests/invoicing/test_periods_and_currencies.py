"""Weekly and custom periods, and partners billed in their own currency."""

from datetime import UTC, datetime

import pytest

from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from tests.factories import TIERS_2_150_1, make_deliveries, make_delivery, make_entity, make_partner, make_plan
from tests.invoicing.helpers import issue, lines_of

pytestmark = pytest.mark.django_db


def test_iso_week_across_the_year_boundary_bills_its_seven_local_days():
    entity = make_entity(timezone="America/New_York", currency="USD")
    partner = make_partner(entity, currency="USD")
    make_plan(partner, "flat", {"price": "1.00"})
    week = periods.parse("2026-W01", "America/New_York")  # Mon 29 Dec 2025 .. Sun 4 Jan 2026
    assert (week.first_day.isoformat(), week.last_day.isoformat()) == ("2025-12-29", "2026-01-04")
    make_delivery(partner, datetime(2025, 12, 29, 5, 1, tzinfo=UTC))  # 00:01 New York, Monday: in
    make_delivery(partner, datetime(2025, 12, 29, 4, 59, tzinfo=UTC))  # 23:59 Sunday before: out
    make_delivery(partner, datetime(2026, 1, 5, 4, 59, tzinfo=UTC))  # 23:59 Sunday 4 Jan: in
    make_delivery(partner, datetime(2026, 1, 5, 5, 0, tzinfo=UTC))  # Monday 5 Jan: out
    issue(entity, week)
    inv = Invoice.objects.get()
    assert (inv.period_key, inv.leads_billed) == ("2026-W01", 1 + 1 + 1)  # the earlier Sunday is a prior lead
    assert lines_of(inv) == [("charge", 2, 200), ("prior_period", 1, 100)]


def test_graduated_tiers_restart_each_weekly_period():
    entity = make_entity(timezone="UTC", currency="USD")
    partner = make_partner(entity, currency="USD")
    make_plan(partner, "graduated", {"tiers": TIERS_2_150_1})
    make_deliveries(partner, 120, datetime(2026, 1, 5, tzinfo=UTC), step_seconds=60)  # week 2
    make_deliveries(partner, 120, datetime(2026, 1, 12, tzinfo=UTC), step_seconds=60)  # week 3
    issue(entity, periods.parse("2026-W02", "UTC"))
    issue(entity, periods.parse("2026-W03", "UTC"))
    totals = list(Invoice.objects.order_by("period_key").values_list("period_key", "total_minor"))
    assert totals == [("2026-W02", 23000), ("2026-W03", 23000)]  # 100 x 2.00 + 20 x 1.50 each week


def test_a_partner_is_billed_in_its_own_currency_and_other_currencies_are_flagged():
    entity = make_entity(timezone="UTC", currency="USD")
    euro = make_partner(entity, code="euro-buyer", currency="EUR")
    make_plan(euro, "flat", {"price": "2.00"})
    make_deliveries(euro, 2, datetime(2026, 1, 5, tzinfo=UTC), currency="EUR")
    make_delivery(euro, datetime(2026, 1, 6, tzinfo=UTC), currency="USD")
    issue(entity, periods.month(2026, 1, "UTC"))
    inv = Invoice.objects.get()
    assert (inv.currency, inv.total_minor, inv.leads_billed) == ("EUR", 400, 2)
    assert "1 deliveries not in EUR (not billed)" in inv.notes


def test_a_custom_date_range_is_a_period_of_its_own():
    entity = make_entity(timezone="UTC", currency="USD")
    partner = make_partner(entity, currency="USD")
    make_plan(partner, "flat", {"price": "1.00"})
    make_deliveries(partner, 3, datetime(2026, 1, 10, tzinfo=UTC))
    make_deliveries(partner, 2, datetime(2026, 1, 20, tzinfo=UTC))
    issue(entity, periods.parse("2026-01-01..2026-01-15", "UTC"))
    issue(entity, periods.parse("2026-01-16..2026-01-31", "UTC"))
    assert list(Invoice.objects.order_by("sequence").values_list("leads_billed", flat=True)) == [3, 2]
