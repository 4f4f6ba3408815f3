"""The cap rule: leads taken greedily in delivery order while their day, week and month have room."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain import caps
from leadbill.domain.errors import DomainError
from leadbill.domain.generation import PlanVersion, UsageGroup, charge_lines
from leadbill.domain.pricing import FlatPrice, GraduatedTiers
from leadbill.domain.pricing.base import Tier

START = date(2026, 2, 23)  # a Monday: four weeks fit in the strategy's range across a month's end


def test_daily_cap_leaves_out_the_leads_after_the_cap_each_day():
    days = [START] * 5 + [START + timedelta(days=1)] * 2
    assert caps.over_cap(days, caps.Caps(daily=3)) == [False, False, False, True, True, False, False]


def test_leads_billed_earlier_in_the_window_take_their_room_first():
    taken = caps.taken_per_window([START, START + timedelta(days=1)])  # billed on last month's invoice
    assert caps.over_cap([START + timedelta(days=2)] * 3, caps.Caps(weekly=4), taken) == [False, False, True]


def test_an_over_cap_lead_takes_no_room():
    # day 1 is full (daily 1): its second lead is over cap and does not count against the week of 2
    days = [START, START, START + timedelta(days=1)]
    assert caps.over_cap(days, caps.Caps(daily=1, weekly=2)) == [False, True, False]


def test_price_policy_needs_its_price_and_policies_are_named():
    assert caps.check_policy("exclude", None) == "exclude"
    with pytest.raises(DomainError) as exc:
        caps.check_policy("price", None)
    assert exc.value.field == "over_cap_price"
    with pytest.raises(DomainError):
        caps.check_policy("drop", None)


def windowed(days: list[date], taken: dict, flags: list[bool]) -> dict:
    counts = dict(taken)
    for day, over in zip(days, flags, strict=True):
        if not over:
            for window in caps.windows_of(day):
                counts[window] = counts.get(window, 0) + 1
    return counts


cap_values = st.one_of(st.none(), st.integers(min_value=0, max_value=12))


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=40), max_size=120).map(sorted),
    earlier=st.lists(st.integers(min_value=0, max_value=40), max_size=20),
    daily=cap_values,
    weekly=cap_values,
    monthly=cap_values,
)
def test_billed_plus_over_cap_is_delivered_no_window_exceeds_its_cap_and_none_is_left_out_needlessly(
    offsets, earlier, daily, weekly, monthly
):
    limits = caps.Caps(daily, weekly, monthly)
    days = [START + timedelta(days=o) for o in offsets]
    taken = caps.taken_per_window(START + timedelta(days=o) for o in earlier)
    flags = caps.over_cap(days, limits, taken)
    billed = flags.count(False)
    assert billed + flags.count(True) == len(days)
    counts = windowed(days, taken, flags)
    for day in days:
        for window, cap in limits.limits(day):
            # this run never pushes a window above its cap (earlier invoices may have, under "flag")
            assert counts.get(window, 0) <= max(cap, taken.get(window, 0))
    for day, over in zip(days, flags, strict=True):
        if over:  # maximal: a lead is left out only when one of its windows is full
            assert any(counts.get(window, 0) >= cap for window, cap in limits.limits(day))
    if not limits.any:
        assert billed == len(days)


VERSION_FROM = datetime(2026, 1, 1, tzinfo=UTC)


@given(
    within=st.integers(min_value=0, max_value=400),
    over=st.integers(min_value=0, max_value=400),
    over_price=st.decimals(min_value=Decimal("0"), max_value=Decimal("9"), places=2),
)
def test_over_cap_leads_priced_on_their_own_line_keep_the_plan_lines_and_add_up(within, over, over_price):
    tiers = GraduatedTiers((Tier(100, Decimal("2.00")), Tier(None, Decimal("1.50"))))
    plan = PlanVersion(1, tiers, VERSION_FROM)
    groups = [
        UsageGroup("0:0", "Leads", "2026-03", plan, within),
        UsageGroup("0:0:over", "Leads", "2026-03", PlanVersion(1, FlatPrice(over_price), VERSION_FROM), over,
                   over_cap=True),
    ]  # fmt: skip
    lines = charge_lines(groups, "USD", Decimal(0))
    plain = [line for line in lines if not line.over_cap]
    capped = [line for line in lines if line.over_cap]
    assert sum(line.quantity for line in plain) == within and sum(line.quantity for line in capped) == over
    assert sum(line.amount_minor for line in plain) == sum(
        line.amount_minor for line in charge_lines(groups[:1], "USD", Decimal(0))
    )
    assert sum(line.amount_minor for line in capped) == int(
        (over * over_price * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    )
    assert all(line.description.startswith("Over cap: ") for line in capped)
