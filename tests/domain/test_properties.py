"""Properties of the domain arithmetic that must hold for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.errors import MoneyError
from leadbill.domain.generation import (
    Adjustment,
    InvoiceDraft,
    PlanVersion,
    ReturnCredit,
    UsageGroup,
    generate,
    per_lead_amounts,
)
from leadbill.domain.money import Money, micros_to_unit_price, unit_price_to_micros
from leadbill.domain.periods import month
from leadbill.domain.pricing import (
    DeliveredPrice,
    FlatPrice,
    GraduatedTiers,
    PricingModel,
    Tier,
    VolumeTiers,
    quote,
)
from leadbill.domain.rounding import line_amount_minor, micros_divisor

CURRENCIES = ["USD", "EUR", "JPY", "KRW", "BHD", "KWD"]
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Pacific/Chatham",
]

currencies = st.sampled_from(CURRENCIES)
price_micros = st.integers(min_value=0, max_value=10**9)  # up to 1000.000000 per lead
prices = price_micros.map(micros_to_unit_price)
quantities = st.integers(min_value=0, max_value=2_000)


@st.composite
def tier_tables(draw: st.DrawFn, *, falling: bool = False, whole_minor: str | None = None) -> tuple[Tier, ...]:
    """Ascending upper bounds, the last tier open; prices optionally falling or whole minor units."""
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=1_000), max_size=4)))
    if whole_minor is None:
        micros = draw(st.lists(price_micros, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    else:
        step = micros_divisor(whole_minor)
        minors = draw(st.lists(st.integers(0, 10**9 // step), min_size=len(bounds) + 1, max_size=len(bounds) + 1))
        micros = [m * step for m in minors]
    if falling:
        micros.sort(reverse=True)
    ups: list[int | None] = [*bounds, None]
    return tuple(Tier(up, micros_to_unit_price(m)) for up, m in zip(ups, micros, strict=True))


def exact_micros(model: PricingModel, first: int, last: int, total: int) -> int:
    """What the ranks cost before any rounding."""
    return sum(
        b.quantity * unit_price_to_micros(b.unit_price)
        for b in model.bands(first, last, total)
        if b.unit_price is not None
    )


def rank_prices(draft: InvoiceDraft) -> list[Decimal | None]:
    """The unit price of each billed rank, in rank order."""
    lines = sorted(draft.lines, key=lambda ln: ln.rank_from or 0)
    return [ln.unit_price for ln in lines for _ in range(ln.quantity)]


def draft_for(model: PricingModel, count: int, currency: str, **kw: object) -> InvoiceDraft:
    v = PlanVersion(1, model, datetime(2026, 1, 1, tzinfo=UTC))
    group = UsageGroup(scope="s", scope_label="S", bucket="2026-01", version=v, count=count, **kw)  # type: ignore[arg-type]
    return generate(currency=currency, tax_rate=Decimal("19"), usage=[group])


# --- pricing -----------------------------------------------------------------------


@given(tiers=tier_tables(), first=st.integers(1, 1_500), length=st.integers(0, 1_500), volume=st.booleans())
def test_tier_bands_are_contiguous_and_cover_exactly_the_ranks(
    tiers: tuple[Tier, ...], first: int, length: int, volume: bool
) -> None:
    last = first + length - 1
    model: PricingModel = VolumeTiers(tiers) if volume else GraduatedTiers(tiers)
    bands = model.bands(first, last, last)
    assert sum(b.quantity for b in bands) == length
    assert all(b.quantity > 0 for b in bands)
    if bands:
        assert bands[0].rank_from == first
        assert bands[-1].rank_to == last
    for before, after in pairwise(bands):
        assert after.rank_from == before.rank_to + 1


@given(tiers=tier_tables(), first=st.integers(1, 1_500), length=st.integers(1, 1_500))
def test_graduated_prices_every_rank_by_its_own_tier(tiers: tuple[Tier, ...], first: int, length: int) -> None:
    def tier_price(rank: int) -> Decimal:
        return next(t.unit_price for t in tiers if t.up_to is None or rank <= t.up_to)

    for band in GraduatedTiers(tiers).bands(first, first + length - 1, first + length - 1):
        assert band.unit_price == tier_price(band.rank_from) == tier_price(band.rank_to)


@given(tiers=tier_tables(), first_run=quantities, late=quantities, currency=currencies)
def test_late_leads_billed_apart_cost_the_same_as_one_range(
    tiers: tuple[Tier, ...], first_run: int, late: int, currency: str
) -> None:
    """First invoice + late leads (already_billed) bill what one invoice would have."""
    model = GraduatedTiers(tiers)
    whole = draft_for(model, first_run + late, currency)
    first = draft_for(model, first_run, currency)
    rest = draft_for(model, late, currency, already_billed=first_run, prior=True)
    # Every rank at the same price, so the same amount before rounding...
    assert rank_prices(first) + rank_prices(rest) == rank_prices(whole)
    assert exact_micros(model, 1, first_run, first_run) + exact_micros(
        model, first_run + 1, first_run + late, first_run + late
    ) == exact_micros(model, 1, first_run + late, first_run + late)
    # ...and at most one band is cut in two, so rounding can differ by one minor unit at most.
    assert abs(first.subtotal_minor + rest.subtotal_minor - whole.subtotal_minor) <= 1


@given(data=st.data(), first_run=quantities, late=quantities, currency=currencies)
def test_late_leads_at_whole_minor_unit_prices_cost_exactly_the_same(
    data: st.DataObject, first_run: int, late: int, currency: str
) -> None:
    model = GraduatedTiers(data.draw(tier_tables(whole_minor=currency)))
    whole = draft_for(model, first_run + late, currency)
    first = draft_for(model, first_run, currency)
    rest = draft_for(model, late, currency, already_billed=first_run, prior=True)
    assert first.subtotal_minor + rest.subtotal_minor == whole.subtotal_minor


@given(tiers=tier_tables(falling=True), quantity=quantities, currency=currencies)
def test_graduated_with_falling_prices_never_costs_more_than_flat_at_the_first_price(
    tiers: tuple[Tier, ...], quantity: int, currency: str
) -> None:
    graduated, flat = GraduatedTiers(tiers), FlatPrice(tiers[0].unit_price)
    # Exactly, before rounding.
    assert exact_micros(graduated, 1, quantity, quantity) <= exact_micros(flat, 1, quantity, quantity)
    # Rounded per band (per line), each extra band may round up by under one minor unit.
    extra_bands = max(len(graduated.bands(1, quantity, quantity)) - 1, 0)
    assert quote(graduated, quantity, currency) <= quote(flat, quantity, currency) + extra_bands


@given(data=st.data(), quantity=quantities, currency=currencies)
def test_graduated_with_falling_whole_minor_prices_never_costs_more_than_flat(
    data: st.DataObject, quantity: int, currency: str
) -> None:
    tiers = data.draw(tier_tables(falling=True, whole_minor=currency))
    assert quote(GraduatedTiers(tiers), quantity, currency) <= quote(FlatPrice(tiers[0].unit_price), quantity, currency)


@given(tiers=tier_tables(falling=True), quantity=quantities, currency=currencies)
def test_volume_with_falling_prices_never_costs_more_than_flat_at_the_first_price(
    tiers: tuple[Tier, ...], quantity: int, currency: str
) -> None:
    assert quote(VolumeTiers(tiers), quantity, currency) <= quote(FlatPrice(tiers[0].unit_price), quantity, currency)


# --- rounding and allocation -------------------------------------------------------


@given(
    micros=price_micros,
    count=st.integers(0, 400),
    already=st.integers(0, 1_000),
    currency=currencies,
)
def test_per_lead_amounts_sum_exactly_to_the_line(micros: int, count: int, already: int, currency: str) -> None:
    draft = draft_for(FlatPrice(micros_to_unit_price(micros)), count, currency, already_billed=already, prior=True)
    for line in draft.lines:
        shares = per_lead_amounts(line, currency)
        assert len(shares) == line.quantity
        assert sum(shares) == line.amount_minor
        # Cumulative rounding: shares differ by at most one minor unit.
        assert max(shares) - min(shares) <= 1
        assert min(shares) >= 0


@given(own=st.lists(price_micros, max_size=300), currency=currencies)
def test_per_lead_amounts_of_delivered_prices_sum_exactly_to_the_line(own: list[int], currency: str) -> None:
    draft = draft_for(DeliveredPrice(), len(own), currency, price_sum_micros=sum(own))
    for line in draft.lines:
        shares = per_lead_amounts(line, currency, own)
        assert sum(shares) == line.amount_minor
        assert min(shares) >= 0


@given(quantity=st.integers(0, 10**6), micros=price_micros, currency=currencies)
def test_line_amount_is_the_exact_amount_rounded_half_up(quantity: int, micros: int, currency: str) -> None:
    divisor = micros_divisor(currency)
    exact = Decimal(quantity * micros) / divisor
    amount = line_amount_minor(quantity, micros, currency)
    assert exact - Decimal("0.5") < amount <= exact + Decimal("0.5")


# --- invoices ----------------------------------------------------------------------

models = st.one_of(
    prices.map(FlatPrice),
    tier_tables().map(GraduatedTiers),
    tier_tables().map(VolumeTiers),
)


@st.composite
def usage_groups(draw: st.DrawFn) -> list[UsageGroup]:
    groups: list[UsageGroup] = []
    for i in range(draw(st.integers(0, 4))):
        prior = draw(st.booleans())
        groups.append(
            UsageGroup(
                scope=draw(st.sampled_from(["a", "b"])),
                scope_label="Leads",
                bucket="2025-12" if prior else "2026-01",
                version=PlanVersion(i, draw(models), datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i)),
                count=draw(quantities),
                already_billed=draw(st.integers(0, 500)) if prior else 0,
                prior=prior,
            )
        )
    return groups


@given(
    groups=usage_groups(),
    credits=st.lists(
        st.builds(ReturnCredit, st.just("Returns"), st.integers(0, 50), st.integers(0, 10**6)), max_size=2
    ),
    adjustments=st.lists(
        st.builds(Adjustment, st.integers(1, 99), st.integers(-(10**6), 10**6), st.just("Adj")), max_size=2
    ),
    currency=currencies,
    rate=st.sampled_from(["0", "7", "19", "20", "8.25"]).map(Decimal),
)
def test_invoice_total_is_subtotal_plus_taxes_and_subtotal_is_the_lines(
    groups: list[UsageGroup],
    credits: list[ReturnCredit],
    adjustments: list[Adjustment],
    currency: str,
    rate: Decimal,
) -> None:
    draft = generate(currency=currency, tax_rate=rate, usage=groups, credits=credits, adjustments=adjustments)
    assert draft.subtotal_minor == sum(line.amount_minor for line in draft.lines)
    assert draft.total_minor == draft.subtotal_minor + sum(t.tax_minor for t in draft.taxes)
    assert sum(t.net_minor for t in draft.taxes) == draft.subtotal_minor
    assert draft.leads_billed == sum(g.count for g in groups)
    assert draft.leads_credited == sum(c.count for c in credits)


# --- money -------------------------------------------------------------------------

minors = st.integers(min_value=-(10**15), max_value=10**15)


@given(a=minors, b=minors, c=minors, currency=currencies)
def test_money_addition_and_subtraction_are_associative(a: int, b: int, c: int, currency: str) -> None:
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert (x + y) + z == x + (y + z)
    assert (x - y) - z == x - (y + z)
    assert x + y - y == x
    assert (x + y).amount == x.amount + y.amount


@given(a=minors, b=minors, currencies=st.lists(currencies, min_size=2, max_size=2, unique=True))
def test_money_in_different_currencies_never_combines(a: int, b: int, currencies: list[str]) -> None:
    x, y = Money(a, currencies[0]), Money(b, currencies[1])
    with pytest.raises(MoneyError):
        x + y
    with pytest.raises(MoneyError):
        x - y


@given(micros=st.integers(-(10**12), 10**12))
def test_micros_and_unit_prices_round_trip(micros: int) -> None:
    price = micros_to_unit_price(micros)
    assert unit_price_to_micros(price) == micros
    assert "E" not in str(price)


# --- periods -----------------------------------------------------------------------


@given(
    zone=st.sampled_from(ZONES),
    year=st.integers(1990, 2060),
    month_number=st.integers(1, 12),
)
def test_consecutive_months_tile_time_exactly(zone: str, year: int, month_number: int) -> None:
    this = month(year, month_number, zone)
    following = this.next()
    assert this.end == following.start
    assert following.previous() == this
    assert this.contains(this.end - timedelta(microseconds=1))
    assert not this.contains(following.start)
    assert following.contains(following.start)
    # A local month is its number of days long, give or take the zone's offset changes during it.
    # Those are daylight saving (an hour or two) or, rarely, a zone moving across the date line:
    # Samoa (Pacific/Apia) skipped 30 December 2011, so that December was 30 days long.
    days = (this.end_day - this.first_day).days
    offset_change = this.end.astimezone(ZoneInfo(zone)).utcoffset() - this.start.astimezone(ZoneInfo(zone)).utcoffset()
    assert (this.end - this.start) - timedelta(days=days) == -offset_change


@given(zone=st.sampled_from(ZONES), year=st.integers(1990, 2060))
def test_a_years_months_add_up_to_the_year(zone: str, year: int) -> None:
    january, december = month(year, 1, zone), month(year, 12, zone)
    total = timedelta(0)
    current = january
    for _ in range(12):
        total += current.end - current.start
        current = current.next()
    assert total == december.end - january.start
