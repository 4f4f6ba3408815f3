"""Flat: every lead at one price."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from leadbill.domain.pricing.base import Band, check_keys, check_price, check_ranks


@dataclass(frozen=True, slots=True)
class FlatPrice:
    kind: ClassVar[str] = "flat"
    unit_price: Decimal

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FlatPrice:
        check_keys(config, {"price"}, {"price"})
        return cls(check_price(config["price"], "price"))

    def to_config(self) -> dict[str, Any]:
        return {"price": str(self.unit_price)}

    def bands(self, first_rank: int, last_rank: int, period_total: int) -> list[Band]:
        check_ranks(first_rank, last_rank)
        if last_rank < first_rank:
            return []
        return [Band(first_rank, last_rank, self.unit_price, "flat")]

    def describe(self) -> str:
        return f"flat {self.unit_price} per lead"
