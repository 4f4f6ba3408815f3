"""Graduated tiers: each lead is priced by the tier its own rank falls in.

First 100 at 2.00, next 200 at 1.50, the rest at 1.00: 350 leads cost
100 x 2.00 + 200 x 1.50 + 50 x 1.00 = 550.00.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from leadbill.domain.pricing.base import (
    Band,
    Tier,
    check_ranks,
    tier_label,
    tiers_config,
    tiers_from_config,
)


@dataclass(frozen=True, slots=True)
class GraduatedTiers:
    kind: ClassVar[str] = "graduated"
    tiers: tuple[Tier, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GraduatedTiers:
        return cls(tiers_from_config(config))

    def to_config(self) -> dict[str, Any]:
        return {"tiers": tiers_config(self.tiers)}

    def bands(self, first_rank: int, last_rank: int, period_total: int) -> list[Band]:
        check_ranks(first_rank, last_rank)
        bands: list[Band] = []
        low = 1
        for index, tier in enumerate(self.tiers):
            high = tier.up_to if tier.up_to is not None else max(last_rank, low)
            start, stop = max(low, first_rank), min(high, last_rank)
            if start <= stop:
                bands.append(Band(start, stop, tier.unit_price, tier_label(self.tiers, index)))
            low = high + 1
            if low > last_rank:
                break
        return bands

    def describe(self) -> str:
        return "graduated " + ", ".join(f"\u2264{t.up_to or '\u221e'} at {t.unit_price}" for t in self.tiers)
