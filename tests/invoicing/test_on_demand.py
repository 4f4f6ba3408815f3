"""One partner billed on demand for a period of its own (a partner leaving mid-month), then the month."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from tests.factories import make_deliveries, make_partner, make_plan
from tests.invoicing.helpers import billed_sum, issue

pytestmark = pytest.mark.django_db


def test_one_partner_billed_now_for_a_range_leaves_the_others_and_the_month_bills_the_rest(entity, buyer, jan):
    other = make_partner(entity, code="other", currency="USD")
    for p in (buyer, other):
        make_plan(p, "flat", {"price": "2.00"})
        make_deliveries(p, 3, datetime(2026, 1, 5, tzinfo=UTC))
        make_deliveries(p, 2, datetime(2026, 1, 20, tzinfo=UTC))
    first_half = periods.parse("2026-01-01..2026-01-15", "UTC")
    (now,) = issue(entity, first_half, partners=[buyer.code]).issued
    assert (now.partner_id, now.leads_billed, now.total_minor) == (buyer.pk, 3, 600)
    assert not Invoice.objects.filter(partner=other).exists()
    month = {inv.partner_id: inv for inv in issue(entity, jan).issued}
    assert month[buyer.pk].leads_billed == 2 and month[other.pk].leads_billed == 5  # nothing billed twice
    assert billed_sum(month[buyer.pk]) + billed_sum(now) == 1_000
