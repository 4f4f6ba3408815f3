"""A price plan in plain words, for the people who agree to it.

Finance staff and partners read "first 100 at $2.00, next 200 at $1.50, then $1.00", not
"≤100 at 2.00, ≤300 at 1.50, ≤∞ at 1.00": the tier bounds of the stored configuration are
cumulative upper bounds, while people think in the size of each step. Prices and counts are
written as the entity's locale writes them (Babel, CLDR data), so a de_DE entity reads
"first 1.000 at 2,50 €". The wording is for reading only; the stored configuration stays the
record and is never parsed back from it.

Pure: no Django, no clock; one function per model kind, looked up by kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal

from leadbill.domain.pricing import (
    DeliveredPrice,
    FlatPrice,
    GraduatedTiers,
    PricingModel,
    VolumeTiers,
    model_from_config,
)

DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    """The entity's locale, or en_US when the stored name is not one CLDR knows."""
    try:
        return Locale.parse(name)
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


class _Words:
    """Money and counts for one currency and locale."""

    def __init__(self, currency: str, locale: str) -> None:
        self.currency = currency
        self.locale = _locale(locale)

    def price(self, value: Decimal) -> str:
        """At least the currency's decimals, more only when the price has them ($0.125)."""
        return format_currency(value.normalize(), self.currency, locale=self.locale, decimal_quantization=False)

    def count(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)


def _graduated(model: GraduatedTiers, words: _Words) -> str:
    tiers = model.tiers
    if len(tiers) == 1:
        return f"every lead at {words.price(tiers[0].unit_price)}"
    parts: list[str] = []
    previous = 0
    for index, tier in enumerate(tiers):
        price = words.price(tier.unit_price)
        if tier.up_to is None:
            parts.append(f"then {price}")
            break
        size = tier.up_to - previous
        step = "first" if index == 0 else "next"
        parts.append(f"{step} lead at {price}" if size == 1 else f"{step} {words.count(size)} at {price}")
        previous = tier.up_to
    return ", ".join(parts)


def _volume(model: VolumeTiers, words: _Words) -> str:
    tiers = model.tiers
    if len(tiers) == 1:
        return f"every lead at {words.price(tiers[0].unit_price)}"
    parts: list[str] = []
    previous = 0
    for index, tier in enumerate(tiers):
        price = words.price(tier.unit_price)
        if tier.up_to is None:
            parts.append(f"{price} above {words.count(previous)}")
            break
        reach = f"up to {words.count(tier.up_to)}"
        parts.append(f"all leads at {price} when the period has {reach}" if index == 0 else f"{price} {reach}")
        previous = tier.up_to
    return ", ".join(parts)


def _flat(model: FlatPrice, words: _Words) -> str:
    return f"{words.price(model.unit_price)} per lead"


def _delivered(model: DeliveredPrice, words: _Words) -> str:
    return "the price sent with each delivery"


_WORDING: dict[str, Callable[[Any, _Words], str]] = {
    FlatPrice.kind: _flat,
    GraduatedTiers.kind: _graduated,
    VolumeTiers.kind: _volume,
    DeliveredPrice.kind: _delivered,
}


def describe(
    model: PricingModel,
    *,
    currency: str,
    locale: str = DEFAULT_LOCALE,
    lead_type: str | None = None,
) -> str:
    """The plan `model` in plain words, prices in `currency` as `locale` writes them.

    - flat: "$2.00 per lead"
    - graduated: "first 100 at $2.00, next 200 at $1.50, then $1.00" (each lead priced by its rank)
    - volume: "all leads at $2.00 when the period has up to 100, $1.50 up to 300, $1.00 above 300"
      (the whole period at the price of the tier its total reaches)
    - delivered: "the price sent with each delivery"

    `lead_type` (a lead type's name) narrows the plan in words: "Solar leads: $2.00 per lead".
    `locale` is a CLDR name such as "de_DE"; an unknown one falls back to en_US rather than
    failing a page. `currency` must be a known ISO 4217 code (Babel formats any, we bill in few).
    """
    words = _Words(currency, locale)
    text = _WORDING[model.kind](model, words)
    return f"{lead_type} leads: {text}" if lead_type else text


def describe_config(
    kind: str,
    config: Mapping[str, Any],
    *,
    currency: str,
    locale: str = DEFAULT_LOCALE,
    lead_type: str | None = None,
) -> str:
    """`describe` for a stored plan (PricePlan.model and .config); raises PricingError if invalid."""
    return describe(model_from_config(kind, config), currency=currency, locale=locale, lead_type=lead_type)
