"""The one rounding module: half-up, once per line, tax once per rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.rounding import (
    cumulative_share_minor,
    line_amount_minor,
    micros_divisor,
    micros_to_minor_half_up,
    running_share_minor,
    tax_minor,
    to_minor_half_up,
)


def test_three_leads_at_an_eighth_round_half_up_once() -> None:
    # 3 x 0.125 = 0.375 -> 0.38 (half-even would also give 0.38; see the next tests).
    assert line_amount_minor(3, 125_000, "USD") == 38


@pytest.mark.parametrize(
    ("quantity", "price_micros", "currency", "expected"),
    [
        (1, 125_000, "USD", 13),  # 0.125 -> 0.13, half-even would give 0.12
        (1, 5_000, "USD", 1),  # 0.005 -> 0.01, half-even would give 0.00
        (1, 4_999, "USD", 0),  # just under half
        (1, 500_000, "JPY", 1),  # 0.5 yen -> 1
        (5, 500_000, "JPY", 3),  # 2.5 yen -> 3, half-even would give 2
        (1, 500, "BHD", 1),  # 0.0005 BHD -> 0.001
        (1, 499, "BHD", 0),
        (7, 123_456, "BHD", 864),  # 0.864192 -> 0.864
    ],
)
def test_line_amount_rounds_half_up_to_the_currency_minor_unit(
    quantity: int, price_micros: int, currency: str, expected: int
) -> None:
    assert line_amount_minor(quantity, price_micros, currency) == expected


def test_negative_amounts_round_half_away_from_zero() -> None:
    assert micros_to_minor_half_up(-5_000, "USD") == -1
    assert micros_to_minor_half_up(-4_999, "USD") == 0
    assert to_minor_half_up(Decimal("-0.005"), "USD") == -1


@pytest.mark.parametrize("micros", [-15_001, -15_000, -5_000, 0, 4_999, 5_000, 15_000, 125_000, 375_000])
@pytest.mark.parametrize("currency", ["USD", "JPY", "BHD"])
def test_integer_and_decimal_rounding_agree(micros: int, currency: str) -> None:
    as_decimal = Decimal(micros).scaleb(-6)
    assert micros_to_minor_half_up(micros, currency) == to_minor_half_up(as_decimal, currency)


def test_micros_divisor_is_micro_units_per_minor_unit() -> None:
    assert micros_divisor("USD") == 10_000
    assert micros_divisor("JPY") == 1_000_000
    assert micros_divisor("BHD") == 1_000


def test_cumulative_shares_of_a_line_sum_to_the_line() -> None:
    shares = [cumulative_share_minor(k, 125_000, "USD") for k in (1, 2, 3)]
    assert shares == [13, 12, 13]
    assert sum(shares) == line_amount_minor(3, 125_000, "USD")


def test_running_shares_of_delivered_prices_sum_to_the_rounded_total() -> None:
    prices = [125_000, 125_000, 333_333]
    running, shares = 0, []
    for own in prices:
        running += own
        shares.append(running_share_minor(running, own, "USD"))
    assert shares == [13, 12, 33]
    assert sum(shares) == micros_to_minor_half_up(sum(prices), "USD")


@pytest.mark.parametrize(
    ("net_minor", "rate", "currency", "expected"),
    [
        (10_000, Decimal("19"), "EUR", 1_900),
        (15, Decimal("10"), "EUR", 2),  # 0.015 -> 0.02
        (14, Decimal("10"), "EUR", 1),
        (15, Decimal("10"), "JPY", 2),  # 1.5 yen -> 2
        (1_005, Decimal("10"), "BHD", 101),  # 0.1005 -> 0.101
        (999, Decimal("7.5"), "USD", 75),  # 0.74925 -> 0.75
        (-15, Decimal("10"), "EUR", -2),
        (12_345, Decimal("0"), "EUR", 0),
    ],
)
def test_tax_is_rounded_half_up_once_on_the_net(net_minor: int, rate: Decimal, currency: str, expected: int) -> None:
    assert tax_minor(net_minor, rate, currency) == expected
