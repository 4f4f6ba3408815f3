"""Property: whatever the tiers, prices and delivery times, the SQL per-lead allocation of an
issued invoice sums exactly to its lines, and the lines equal the pure domain's quote."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbill.domain import periods
from leadbill.domain.generation import price_bands
from leadbill.domain.pricing import model_from_config, quote
from leadbill.invoicing.models import BilledLead, Invoice
from leadbill.invoicing.services import invoice_run_issue
from tests.factories import make_entity, make_partner, make_plan

prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("50"), places=3)


@st.composite
def tier_tables(draw):
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=40), min_size=0, max_size=3)))
    return [{"up_to": b, "price": str(draw(prices))} for b in bounds] + [{"up_to": None, "price": str(draw(prices))}]


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.sampled_from(["flat", "graduated", "volume"]),
    tiers=tier_tables(),
    flat=prices,
    count=st.integers(min_value=1, max_value=60),
    currency=st.sampled_from(["USD", "JPY", "BHD"]),
)
def test_per_lead_amounts_sum_to_lines_and_lines_match_the_domain(model, tiers, flat, count, currency):
    entity = make_entity(timezone="UTC", currency=currency)
    partner = make_partner(entity, currency=currency)
    config = {"price": str(flat)} if model == "flat" else {"tiers": tiers}
    make_plan(partner, model, config)
    from tests.factories import make_deliveries

    make_deliveries(partner, count, datetime(2026, 1, 3, tzinfo=UTC), step_seconds=37)
    result = invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 1, "UTC"))
    assert result.failures == {}
    inv = Invoice.objects.get(partner=partner)
    assert inv.subtotal_minor == quote(model_from_config(model, config), count, currency)
    for line in inv.lines.all():
        amounts = list(BilledLead.objects.filter(line=line).values_list("amount_minor", flat=True))
        assert len(amounts) == line.quantity
        assert sum(amounts) == line.amount_minor


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prices_=st.lists(st.decimals(min_value=Decimal("0"), max_value=Decimal("99"), places=6), min_size=1, max_size=30)
)
def test_delivered_prices_lines_are_steps_of_the_rounded_running_sum_and_add_up_to_the_sum_rounded_once(prices_):
    """Delivered prices are listed per price (or price band): the lines are the steps of the group's
    running sum rounded half-up, band after band, so together they are the exact sum rounded once
    (what a preview from the billing summary shows), and each line's per-lead amounts add up to it."""
    from tests.factories import make_delivery

    entity = make_entity(timezone="UTC", currency="USD")
    partner = make_partner(entity, currency="USD")
    make_plan(partner, "delivered", {})
    for i, price in enumerate(prices_):
        make_delivery(partner, datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=i), price=str(price))
    invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 1, "UTC"))
    inv = Invoice.objects.get(partner=partner)
    bands = price_bands([(int(p * 1_000_000), 1) for p in prices_])

    def rounded(micros: int) -> int:
        return int((Decimal(micros) / 10_000).quantize(Decimal(1), rounding="ROUND_HALF_UP"))

    running = [sum(b.sum_micros for b in bands[:i]) for i in range(len(bands) + 1)]
    expected = [rounded(running[i + 1]) - rounded(running[i]) for i in range(len(bands))]
    assert sum(expected) == rounded(sum(int(p * 1_000_000) for p in prices_))
    lines = list(inv.lines.order_by("position"))
    assert [line.amount_minor for line in lines] == expected
    assert sum(line.quantity for line in lines) == len(prices_)
    assert inv.subtotal_minor == sum(expected)
    for line in lines:
        assert sum(BilledLead.objects.filter(line=line).values_list("amount_minor", flat=True)) == line.amount_minor
