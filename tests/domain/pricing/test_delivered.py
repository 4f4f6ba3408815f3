"""Delivered price: each delivery carries its own price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.errors import PricingError
from leadbill.domain.pricing import Band, DeliveredPrice, quote


def test_delivered_price_is_one_band_without_a_unit_price() -> None:
    assert DeliveredPrice().bands(5, 9, 100) == [Band(5, 9, None, "delivered price")]


def test_delivered_price_with_no_leads_has_no_bands() -> None:
    assert DeliveredPrice().bands(1, 0, 0) == []


def test_delivered_prices_are_summed_then_rounded_once() -> None:
    prices = [Decimal("0.125")] * 3
    assert quote(DeliveredPrice(), 3, "USD", unit_prices=prices) == 38  # not 3 x 13
    assert quote(DeliveredPrice(), 2, "JPY", unit_prices=[Decimal("10.5"), Decimal("20.25")]) == 31  # 30.75
    assert quote(DeliveredPrice(), 2, "BHD", unit_prices=[Decimal("0.0005"), Decimal("1")]) == 1_001


def test_delivered_price_config_is_empty() -> None:
    assert DeliveredPrice.from_config({}) == DeliveredPrice()
    assert DeliveredPrice().to_config() == {}
    assert DeliveredPrice().describe() == "price carried on each delivery"


def test_delivered_price_refuses_a_price_in_its_config() -> None:
    with pytest.raises(PricingError) as exc:
        DeliveredPrice.from_config({"price": "1.00"})
    assert exc.value.field == "price"
