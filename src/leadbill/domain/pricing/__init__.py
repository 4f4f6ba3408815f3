"""Pricing models, one module each, looked up by kind in a registry.

Every model answers the same question: the leads ranked `first_rank..last_rank` of a
period (in delivery order, ranks counted per invoice period and pricing scope) fall in
which bands of one unit price? The invoice run turns bands into lines and allocates a
per-lead price to every lead from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadbill.domain.errors import PricingError
from leadbill.domain.pricing.base import Band, PricingModel, Tier, quote
from leadbill.domain.pricing.delivered import DeliveredPrice
from leadbill.domain.pricing.flat import FlatPrice
from leadbill.domain.pricing.graduated import GraduatedTiers
from leadbill.domain.pricing.volume import VolumeTiers

REGISTRY: dict[str, type[PricingModel]] = {
    model.kind: model for model in (FlatPrice, GraduatedTiers, VolumeTiers, DeliveredPrice)
}


def model_from_config(kind: str, config: Mapping[str, Any]) -> PricingModel:
    """Build and validate a pricing model from its stored or loaded configuration."""
    try:
        model = REGISTRY[kind]
    except KeyError:
        raise PricingError(
            f"unknown pricing model {kind!r} (one of: {', '.join(sorted(REGISTRY))})",
            field="model",
        ) from None
    return model.from_config(config)


__all__ = [
    "REGISTRY",
    "Band",
    "DeliveredPrice",
    "FlatPrice",
    "GraduatedTiers",
    "PricingModel",
    "Tier",
    "VolumeTiers",
    "model_from_config",
    "quote",
]
