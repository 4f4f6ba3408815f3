"""The registry builds a validated model from its kind and configuration."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from leadbill.domain.errors import DomainError, PricingError
from leadbill.domain.pricing import (
    REGISTRY,
    DeliveredPrice,
    FlatPrice,
    GraduatedTiers,
    Tier,
    VolumeTiers,
    model_from_config,
)

TIERS: list[dict[str, Any]] = [
    {"up_to": 100, "price": "2.00"},
    {"up_to": 300, "price": "1.50"},
    {"up_to": None, "price": "1.00"},
]


def with_tier(index: int, **changes: Any) -> dict[str, Any]:
    tiers = [dict(t) for t in TIERS]
    tiers[index].update(changes)
    return {"tiers": tiers}


def test_registry_maps_each_kind_to_its_model() -> None:
    assert {
        "flat": FlatPrice,
        "graduated": GraduatedTiers,
        "volume": VolumeTiers,
        "delivered": DeliveredPrice,
    } == REGISTRY


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [
        ("flat", {"price": "1.50"}, FlatPrice(Decimal("1.50"))),
        ("flat", {"price": 2}, FlatPrice(Decimal(2))),
        ("flat", {"price": Decimal("0.125")}, FlatPrice(Decimal("0.125"))),
        ("delivered", {}, DeliveredPrice()),
        (
            "graduated",
            {"tiers": TIERS},
            GraduatedTiers((Tier(100, Decimal("2.00")), Tier(300, Decimal("1.50")), Tier(None, Decimal("1.00")))),
        ),
        ("volume", {"tiers": [{"price": "3"}]}, VolumeTiers((Tier(None, Decimal(3)),))),
    ],
)
def test_model_from_config_builds_the_model(kind: str, config: dict[str, Any], expected: object) -> None:
    assert model_from_config(kind, config) == expected


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_model_config_round_trips(kind: str) -> None:
    configs: dict[str, dict[str, Any]] = {
        "flat": {"price": "0.125"},
        "graduated": {"tiers": TIERS},
        "volume": {"tiers": TIERS},
        "delivered": {},
    }
    config = configs[kind]
    model = model_from_config(kind, config)
    assert model.kind == kind
    assert model.to_config() == config
    assert model_from_config(kind, model.to_config()) == model


def test_unknown_model_kind_is_refused_on_the_model_field() -> None:
    with pytest.raises(PricingError, match="unknown pricing model 'tiered'") as exc:
        model_from_config("tiered", {})
    assert exc.value.field == "model"
    assert "delivered, flat, graduated, volume" in exc.value.message


@pytest.mark.parametrize(
    ("kind", "config", "field", "message"),
    [
        # Prices: exact decimal strings only, not negative, at most six decimals.
        ("flat", {"price": 1.5}, "price", "floats are not exact"),
        ("flat", {"price": "-0.01"}, "price", "cannot be negative"),
        ("flat", {"price": "0.0000001"}, "price", "more than 6 decimals"),
        ("flat", {"price": "1e-7"}, "price", "more than 6 decimals"),
        ("flat", {"price": "one"}, "price", "not a decimal number"),
        ("flat", {"price": True}, "price", "expected a decimal price"),
        ("flat", {"price": None}, "price", "expected a decimal price"),
        ("flat", {}, "price", "missing"),
        ("flat", {"price": "1", "currency": "EUR"}, "currency", "unknown key"),
        ("graduated", with_tier(0, price=2.0), "tiers[0].price", "floats are not exact"),
        ("graduated", with_tier(1, price="-1.50"), "tiers[1].price", "cannot be negative"),
        ("volume", with_tier(2, price="1.0000001"), "tiers[2].price", "more than 6 decimals"),
        # Tier bounds: ascending whole numbers, only the last tier open, and it must be.
        ("graduated", with_tier(1, up_to=100), "tiers[1].up_to", "above the previous bound 100"),
        ("graduated", with_tier(1, up_to=50), "tiers[1].up_to", "above the previous bound 100"),
        ("graduated", with_tier(0, up_to=0), "tiers[0].up_to", "above the previous bound 0"),
        ("graduated", with_tier(1, up_to="300"), "tiers[1].up_to", "whole number"),
        ("graduated", with_tier(1, up_to=300.0), "tiers[1].up_to", "whole number"),
        ("graduated", with_tier(0, up_to=True), "tiers[0].up_to", "whole number"),
        ("graduated", with_tier(2, up_to=1_000), "tiers[2].up_to", "last tier must be open-ended"),
        ("volume", with_tier(1, up_to=None), "tiers[1].up_to", "only the last tier may be open-ended"),
        ("graduated", with_tier(1, upto=300), "tiers[1].upto", "unknown key"),
        ("graduated", {"tiers": [{"up_to": None}]}, "tiers[0].price", "missing"),
        ("graduated", {"tiers": ["2.00"]}, "tiers[0]", "mapping"),
        ("graduated", {"tiers": []}, "tiers", "non-empty list"),
        ("volume", {"tiers": "100:2.00"}, "tiers", "non-empty list"),
        ("volume", {}, "tiers", "missing"),
        ("delivered", {"tiers": TIERS}, "tiers", "unknown key"),
    ],
)
def test_config_errors_carry_the_field_path(kind: str, config: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PricingError, match=message) as exc:
        model_from_config(kind, config)
    assert exc.value.field == field
    assert str(exc.value).startswith(f"{field}: ")


def test_pricing_errors_are_domain_errors_with_a_stable_code() -> None:
    with pytest.raises(DomainError) as exc:
        model_from_config("flat", {"price": 1.5})
    assert exc.value.code == "pricing"
    assert isinstance(exc.value, ValueError)
