"""Delivered-price lines broken down by price, or by price band when there are many prices."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.generation import EXACT_PRICES_MAX, PlanVersion, UsageGroup, charge_lines, price_bands
from leadbill.domain.pricing import DeliveredPrice
from leadbill.domain.rounding import micros_to_minor_half_up

DELIVERED = PlanVersion(7, DeliveredPrice(), datetime(2026, 1, 1, tzinfo=UTC))


def group(prices: dict[int, int]) -> UsageGroup:
    return UsageGroup("0:0", "Leads", "2026-03", DELIVERED, sum(prices.values()),
                      price_sum_micros=sum(p * n for p, n in prices.items()), prices=tuple(sorted(prices.items())))  # fmt: skip


def test_a_dozen_prices_are_listed_exactly_with_counts():
    lines = charge_lines([group({1_250_000: 3, 2_000_000: 1})], "USD", Decimal(0))
    assert [(line.quantity, line.unit_price, line.amount_minor) for line in lines] == [
        (3, Decimal("1.25"), 375),
        (1, Decimal(2), 200),
    ]
    assert lines[0].description == "Leads \u2014 delivered price at 1.25"


def test_many_prices_are_banded_into_ranges_without_a_made_up_unit_price():
    prices = {1_000_000 + i * 10_000: 1 for i in range(40)}  # 1.00, 1.01, ... 1.39
    lines = charge_lines([group(prices)], "USD", Decimal(0))
    assert len(lines) == EXACT_PRICES_MAX
    assert all(line.unit_price is None for line in lines)
    assert lines[0].description.endswith("at 1.00 to 1.03")
    assert [line.price_low_micros for line in lines] == sorted(line.price_low_micros for line in lines)


@given(
    prices=st.dictionaries(
        st.integers(min_value=0, max_value=99_999_999), st.integers(min_value=1, max_value=50), min_size=1, max_size=60
    )
)
def test_breakdown_covers_every_lead_once_and_its_lines_add_up_to_the_sum_rounded_once(prices):
    """Each line is the step of the running sum over its own leads, so the lines add up to the
    group's sum rounded once (what a preview from the billing summary shows), and no line is more
    than half a cent away from its own leads' sum."""
    lines = charge_lines([group(prices)], "EUR", Decimal(0))
    assert sum(line.quantity for line in lines) == sum(prices.values())
    assert len(lines) <= EXACT_PRICES_MAX
    running = 0
    for line in lines:
        assert line.price_low_micros is not None and line.price_high_micros is not None
        inside = {p: n for p, n in prices.items() if line.price_low_micros <= p <= line.price_high_micros}
        assert sum(inside.values()) == line.quantity
        own = sum(p * n for p, n in inside.items())
        assert line.amount_minor == micros_to_minor_half_up(running + own, "EUR") - micros_to_minor_half_up(
            running, "EUR"
        )
        assert abs(line.amount_minor * 10_000 - own) <= 10_000  # within a cent of its own leads' sum
        running += own
    assert sum(line.amount_minor for line in lines) == micros_to_minor_half_up(
        sum(p * n for p, n in prices.items()), "EUR"
    )
    bands = price_bands(list(prices.items()))
    assert all(a.high_micros < b.low_micros for a, b in itertools.pairwise(bands))
