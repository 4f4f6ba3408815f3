"""Volume tiers: all of a period's leads at the price of the tier the total reaches.

Tiers of 2.00 up to 100, 1.50 up to 300, 1.00 beyond: 350 leads cost 350 x 1.00.
Leads billed after the period (late deliveries) take the tier their period's total
reaches then; leads already billed are never repriced (issued documents never change).
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
class VolumeTiers:
    kind: ClassVar[str] = "volume"
    tiers: tuple[Tier, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> VolumeTiers:
        return cls(tiers_from_config(config))

    def to_config(self) -> dict[str, Any]:
        return {"tiers": tiers_config(self.tiers)}

    def tier_index(self, total: int) -> int:
        for index, tier in enumerate(self.tiers):
            if tier.up_to is None or total <= tier.up_to:
                return index
        return len(self.tiers) - 1

    def bands(self, first_rank: int, last_rank: int, period_total: int) -> list[Band]:
        check_ranks(first_rank, last_rank)
        if last_rank < first_rank:
            return []
        index = self.tier_index(max(period_total, last_rank))
        label = f"volume {tier_label(self.tiers, index)}"
        return [Band(first_rank, last_rank, self.tiers[index].unit_price, label)]

    def describe(self) -> str:
        return "volume " + ", ".join(f"\u2264{t.up_to or '\u221e'} at {t.unit_price}" for t in self.tiers)
