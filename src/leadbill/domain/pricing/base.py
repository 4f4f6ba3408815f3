"""What every pricing model shares: bands, tiers and their validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from leadbill.domain.errors import MoneyError, PricingError
from leadbill.domain.money import parse_decimal, unit_price_to_micros
from leadbill.domain.rounding import line_amount_minor


@dataclass(frozen=True, slots=True)
class Band:
    """Consecutive ranks (1-based, inclusive) billed at one unit price.

    `unit_price` is None for delivered-price bands, where each lead carries its own.
    """

    rank_from: int
    rank_to: int
    unit_price: Decimal | None
    label: str

    @property
    def quantity(self) -> int:
        return self.rank_to - self.rank_from + 1


@dataclass(frozen=True, slots=True)
class Tier:
    """Leads up to and including `up_to` (None: all the rest) at `unit_price`."""

    up_to: int | None
    unit_price: Decimal


class PricingModel(Protocol):
    kind: ClassVar[str]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PricingModel: ...

    def to_config(self) -> dict[str, Any]: ...

    def bands(self, first_rank: int, last_rank: int, period_total: int) -> list[Band]:
        """Bands for the leads ranked first_rank..last_rank; `period_total` is the
        number of leads of the scope in the whole period (volume tiers need it)."""
        ...

    def describe(self) -> str: ...


def check_price(value: object, field: str) -> Decimal:
    """A unit price: exact decimal, not negative, at most six decimals."""
    if isinstance(value, float):
        raise PricingError('write prices as decimal strings ("1.50"); floats are not exact', field=field)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PricingError('expected a decimal price such as "1.50"', field=field)
    try:
        price = parse_decimal(value, field=field)
        unit_price_to_micros(price, field=field)
    except MoneyError as exc:
        raise PricingError(exc.message, field=field) from None
    if price < 0:
        raise PricingError("a price cannot be negative", field=field)
    return price


def parse_tiers(raw: object) -> tuple[Tier, ...]:
    """Tiers given by ascending upper bounds; the last one is open (`up_to: null`)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise PricingError("give a non-empty list of tiers", field="tiers")
    tiers: list[Tier] = []
    previous = 0
    for i, item in enumerate(raw):
        where = f"tiers[{i}]"
        if not isinstance(item, Mapping):
            raise PricingError("a tier is a mapping with up_to and price", field=where)
        unknown = set(item) - {"up_to", "price"}
        if unknown:
            raise PricingError(f"unknown key {sorted(unknown)[0]!r}", field=f"{where}.{sorted(unknown)[0]}")
        if "price" not in item:
            raise PricingError("missing", field=f"{where}.price")
        up_to = item.get("up_to")
        last = i == len(raw) - 1
        if up_to is None:
            if not last:
                raise PricingError("only the last tier may be open-ended", field=f"{where}.up_to")
        else:
            if isinstance(up_to, bool) or not isinstance(up_to, int):
                raise PricingError("a whole number of leads", field=f"{where}.up_to")
            if up_to <= previous:
                raise PricingError(f"must be above the previous bound {previous}", field=f"{where}.up_to")
            if last:
                raise PricingError("the last tier must be open-ended (up_to: null)", field=f"{where}.up_to")
            previous = up_to
        tiers.append(Tier(up_to, check_price(item["price"], f"{where}.price")))
    return tuple(tiers)


def tiers_config(tiers: Sequence[Tier]) -> list[dict[str, Any]]:
    return [{"up_to": t.up_to, "price": str(t.unit_price)} for t in tiers]


def tier_label(tiers: Sequence[Tier], index: int) -> str:
    low = (tiers[index - 1].up_to or 0) + 1 if index else 1
    high = tiers[index].up_to
    return f"tier {index + 1} ({low}\u2013{high})" if high is not None else f"tier {index + 1} ({low}+)"


def check_keys(config: Mapping[str, Any], allowed: set[str], required: set[str]) -> None:
    for key in config:
        if key not in allowed:
            raise PricingError(f"unknown key {key!r}", field=str(key))
    for key in sorted(required):
        if key not in config:
            raise PricingError("missing", field=key)


def check_ranks(first_rank: int, last_rank: int) -> None:
    if first_rank < 1 or last_rank < first_rank - 1:
        raise PricingError(f"bad rank range {first_rank}..{last_rank}")


def quote(model: PricingModel, quantity: int, currency: str, *, unit_prices: Sequence[Decimal] = ()) -> int:
    """What `quantity` leads cost in a fresh period, in minor units (previews, tests).

    Delivered-price models need the leads' own prices in `unit_prices`.
    """
    total = 0
    for band in model.bands(1, quantity, quantity):
        if band.unit_price is None:
            micros = sum(unit_price_to_micros(p) for p in unit_prices[band.rank_from - 1 : band.rank_to])
            total += line_amount_minor(1, micros, currency)
        else:
            total += line_amount_minor(band.quantity, unit_price_to_micros(band.unit_price), currency)
    return total


def tiers_from_config(config: Mapping[str, Any]) -> tuple[Tier, ...]:
    """The tier table of a tiered model's configuration (its only key)."""
    check_keys(config, {"tiers"}, {"tiers"})
    return parse_tiers(config["tiers"])
