"""Delivered price: each delivery carries its own price (a ping/post bid, say)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from leadbill.domain.pricing.base import Band, check_keys, check_ranks


@dataclass(frozen=True, slots=True)
class DeliveredPrice:
    kind: ClassVar[str] = "delivered"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliveredPrice:
        check_keys(config, set(), set())
        return cls()

    def to_config(self) -> dict[str, Any]:
        return {}

    def bands(self, first_rank: int, last_rank: int, period_total: int) -> list[Band]:
        check_ranks(first_rank, last_rank)
        if last_rank < first_rank:
            return []
        return [Band(first_rank, last_rank, None, "delivered price")]

    def describe(self) -> str:
        return "price carried on each delivery"
