"""Plan wording: what people read of a price plan, checked against the arithmetic it describes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.errors import PricingError
from leadbill.domain.plan_wording import describe, describe_config
from leadbill.domain.pricing import DeliveredPrice, FlatPrice, GraduatedTiers, Tier, VolumeTiers, quote


def test_graduated_reads_as_steps_not_cumulative_bounds() -> None:
    model = GraduatedTiers((Tier(100, Decimal("2")), Tier(300, Decimal("1.5")), Tier(None, Decimal("1"))))
    assert describe(model, currency="USD") == "first 100 at $2.00, next 200 at $1.50, then $1.00"


def test_volume_reads_as_the_price_the_period_total_reaches() -> None:
    model = VolumeTiers((Tier(100, Decimal("2")), Tier(300, Decimal("1.5")), Tier(None, Decimal("1"))))
    assert describe(model, currency="USD") == (
        "all leads at $2.00 when the period has up to 100, $1.50 up to 300, $1.00 above 300"
    )


def test_flat_and_delivered() -> None:
    assert describe(FlatPrice(Decimal("2.5")), currency="USD") == "$2.50 per lead"
    assert describe(DeliveredPrice(), currency="USD") == "the price sent with each delivery"


def test_lead_type_narrows_the_plan_in_words() -> None:
    assert describe(FlatPrice(Decimal("2")), currency="USD", lead_type="Solar") == "Solar leads: $2.00 per lead"


def test_prices_and_counts_follow_the_locale() -> None:
    model = GraduatedTiers((Tier(1000, Decimal("2.5")), Tier(None, Decimal("1.25"))))
    text = describe(model, currency="EUR", locale="de_DE")
    assert text == "first 1.000 at 2,50\xa0€, then 1,25\xa0€"


def test_prices_finer_than_the_minor_unit_keep_their_decimals() -> None:
    assert describe(FlatPrice(Decimal("0.125")), currency="USD") == "$0.125 per lead"
    assert describe(FlatPrice(Decimal("150")), currency="JPY") == "¥150 per lead"


def test_single_lead_step_and_single_tier() -> None:
    model = GraduatedTiers((Tier(1, Decimal("5")), Tier(None, Decimal("1"))))
    assert describe(model, currency="USD") == "first lead at $5.00, then $1.00"
    assert describe(GraduatedTiers((Tier(None, Decimal("1")),)), currency="USD") == "every lead at $1.00"


def test_unknown_locale_falls_back_to_en_us() -> None:
    assert describe(FlatPrice(Decimal("2")), currency="USD", locale="xx_nowhere") == "$2.00 per lead"


def test_describe_config_reads_stored_plans_and_refuses_bad_ones() -> None:
    config = {"tiers": [{"up_to": 100, "price": "2.00"}, {"up_to": None, "price": "1.00"}]}
    assert describe_config("graduated", config, currency="USD") == "first 100 at $2.00, then $1.00"
    with pytest.raises(PricingError):
        describe_config("graduated", {"tiers": []}, currency="USD")


@st.composite
def tier_tables(draw: st.DrawFn) -> tuple[Tier, ...]:
    sizes = draw(st.lists(st.integers(1, 5000), min_size=1, max_size=8))
    prices = draw(st.lists(st.integers(0, 10**7), min_size=len(sizes) + 1, max_size=len(sizes) + 1))
    bounds, total = [], 0
    for size in sizes:
        total += size
        bounds.append(total)
    return tuple(Tier(b, Decimal(p).scaleb(-4)) for b, p in zip([*bounds, None], prices, strict=True))


def _read_back(text: str) -> list[tuple[int | None, Decimal]]:
    """Steps and prices read back from en_US graduated wording."""
    steps: list[tuple[int | None, Decimal]] = []
    for part in re.split(r", (?=first|next|then)", text):
        price = Decimal(part.rsplit("$", 1)[1].replace(",", ""))
        if part.startswith("then"):
            steps.append((None, price))
        else:
            size = part.split(" ")[1]
            steps.append((1 if size == "lead" else int(size.replace(",", "")), price))
    return steps


@given(tier_tables())
def test_graduated_wording_states_every_step_and_price_exactly(tiers: tuple[Tier, ...]) -> None:
    """Reading the words back gives the same step sizes and prices, hence the same bill."""
    model = GraduatedTiers(tiers)
    steps = _read_back(describe(model, currency="USD"))
    rebuilt, total = [], 0
    for size, price in steps:
        total = total + size if size is not None else total
        rebuilt.append(Tier(total if size is not None else None, price))
    assert [t.unit_price for t in rebuilt] == [t.unit_price for t in tiers]
    assert quote(GraduatedTiers(tuple(rebuilt)), 12345, "USD") == quote(model, 12345, "USD")


@given(tier_tables(), st.sampled_from(["en_US", "de_DE", "fr_FR", "ja_JP"]), st.sampled_from(["USD", "EUR", "JPY"]))
def test_every_tier_price_appears_in_every_locale(tiers: tuple[Tier, ...], locale: str, currency: str) -> None:
    text = describe(VolumeTiers(tiers), currency=currency, locale=locale)
    assert text.count(" up to ") == len(tiers) - 1
    assert (" above " in text) == (len(tiers) > 1)
    assert "\u221e" not in text and "\u2264" not in text
