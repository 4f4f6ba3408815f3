"""Volume tiers: all of a period's leads at the price of the tier the total reaches."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.pricing import Band, Tier, VolumeTiers, quote

SPEC = VolumeTiers((Tier(100, Decimal("2.00")), Tier(300, Decimal("1.50")), Tier(None, Decimal("1.00"))))


def test_volume_worked_example_350_leads_all_at_the_tier_reached() -> None:
    assert quote(SPEC, 350, "USD") == 35_000
    assert SPEC.bands(1, 350, 350) == [Band(1, 350, Decimal("1.00"), "volume tier 3 (301+)")]


@pytest.mark.parametrize(
    ("quantity", "expected_minor"),
    [
        (100, 20_000),  # 100 x 2.00
        (101, 15_150),  # 101 x 1.50: reaching tier 2 reprices them all
        (300, 45_000),
        (301, 30_100),  # 301 x 1.00
    ],
)
def test_volume_tier_boundaries(quantity: int, expected_minor: int) -> None:
    assert quote(SPEC, quantity, "USD") == expected_minor


def test_volume_prices_by_the_period_total_not_the_ranks_billed() -> None:
    # The first 50 leads of a period that reaches 150 are at tier 2.
    assert SPEC.bands(1, 50, 150) == [Band(1, 50, Decimal("1.50"), "volume tier 2 (101\u2013300)")]


def test_volume_late_leads_take_the_tier_their_period_reaches_then() -> None:
    # 295 leads billed at tier 2; 10 late ones bring the period to 305.
    assert SPEC.bands(296, 305, 305) == [Band(296, 305, Decimal("1.00"), "volume tier 3 (301+)")]


def test_volume_total_is_at_least_the_last_rank() -> None:
    assert SPEC.bands(1, 120, 0)[0].unit_price == Decimal("1.50")


def test_volume_tier_index() -> None:
    assert [SPEC.tier_index(n) for n in (0, 1, 100, 101, 300, 301, 10**9)] == [0, 0, 0, 1, 1, 2, 2]


def test_volume_with_no_leads_has_no_bands() -> None:
    assert SPEC.bands(1, 0, 0) == []


def test_volume_amounts_in_yen_and_dinar() -> None:
    yen = VolumeTiers((Tier(10, Decimal("100")), Tier(None, Decimal("80.5"))))
    assert quote(yen, 11, "JPY") == 886  # 885.5 -> 886
    dinar = VolumeTiers((Tier(10, Decimal("1.5")), Tier(None, Decimal("1.2345"))))
    assert quote(dinar, 11, "BHD") == 13_580  # 13.5795 -> 13.580


def test_volume_config_round_trips() -> None:
    config = {"tiers": [{"up_to": 100, "price": "2.00"}, {"up_to": None, "price": "1.00"}]}
    model = VolumeTiers.from_config(config)
    assert model.to_config() == config
    assert model.describe() == "volume \u2264100 at 2.00, \u2264\u221e at 1.00"
