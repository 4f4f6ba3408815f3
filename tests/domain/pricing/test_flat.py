"""Flat: every lead at one price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.errors import PricingError
from leadbill.domain.pricing import Band, FlatPrice, quote


def test_flat_price_bills_every_lead_at_one_price() -> None:
    model = FlatPrice(Decimal("2.00"))
    assert model.bands(1, 350, 350) == [Band(1, 350, Decimal("2.00"), "flat")]
    assert quote(model, 350, "USD") == 70_000


def test_flat_price_ignores_the_period_total_and_rank_position() -> None:
    model = FlatPrice(Decimal("1.50"))
    assert model.bands(301, 320, 1_000) == [Band(301, 320, Decimal("1.50"), "flat")]


def test_flat_price_with_no_leads_has_no_bands() -> None:
    assert FlatPrice(Decimal("2.00")).bands(11, 10, 10) == []
    assert quote(FlatPrice(Decimal("2.00")), 0, "USD") == 0


@pytest.mark.parametrize(("first", "last"), [(0, 5), (5, 3)])
def test_flat_price_refuses_a_bad_rank_range(first: int, last: int) -> None:
    with pytest.raises(PricingError, match="bad rank range"):
        FlatPrice(Decimal("2.00")).bands(first, last, 10)


@pytest.mark.parametrize(
    ("price", "quantity", "currency", "expected"),
    [
        ("0.125", 3, "USD", 38),  # 0.375 -> 0.38
        ("0.5", 3, "JPY", 2),  # 1.5 yen -> 2
        ("150", 7, "JPY", 1_050),
        ("0.1255", 3, "BHD", 377),  # 0.3765 -> 0.377
        ("0.0125", 1, "BHD", 13),  # 0.0125 -> 0.013
    ],
)
def test_flat_quote_rounds_the_line_once_half_up(price: str, quantity: int, currency: str, expected: int) -> None:
    assert quote(FlatPrice(Decimal(price)), quantity, currency) == expected


def test_flat_config_round_trips() -> None:
    model = FlatPrice.from_config({"price": "1.50"})
    assert model == FlatPrice(Decimal("1.50"))
    assert model.to_config() == {"price": "1.50"}
    assert FlatPrice.from_config(model.to_config()) == model
    assert model.describe() == "flat 1.50 per lead"
