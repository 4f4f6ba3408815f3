"""Tax per rate on the sum of lines (EN 16931 BR-CO-17), never per line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from leadbill.domain.errors import DomainError
from leadbill.domain.rounding import tax_minor

# UNCL 5305 duty/tax category codes used by EN 16931.
STANDARD_RATE = "S"
ZERO_RATED = "Z"
REVERSE_CHARGE = "AE"
NOT_SUBJECT = "O"


def check_rate(value: Decimal, *, field: str = "tax_rate") -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise DomainError(f"a tax rate is a percentage from 0 to 100, got {value}", field=field)
    if value != value.quantize(Decimal("0.01")):
        raise DomainError(f"at most two decimals, got {value}", field=field)
    return value


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    rate: Decimal
    net_minor: int
    tax_minor: int


def tax_subtotals(lines: Iterable[tuple[Decimal, int]], currency: str) -> tuple[TaxSubtotal, ...]:
    """Group (rate, net) pairs by rate and tax each group's sum once."""
    nets: dict[Decimal, int] = {}
    for rate, net in lines:
        nets[rate] = nets.get(rate, 0) + net
    return tuple(TaxSubtotal(rate, net, tax_minor(net, rate, currency)) for rate, net in sorted(nets.items()))
