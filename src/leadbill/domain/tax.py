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


def rate_from_bp(bp: int) -> Decimal:
    """A rate stored in basis points (1900) as the percentage documents and tax arithmetic use (19.00)."""
    return (Decimal(bp) / 100).quantize(Decimal("0.01"))


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


# The VAT area: EU member states (Greece writes EL in VAT numbers) and Northern Ireland for goods.
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
# Countries whose tax ids are VAT numbers with a country prefix (EN 16931 BT-31/BT-48, BR-CO-9).
VAT_PREFIX_COUNTRIES = EU_COUNTRIES | {"GB", "XI", "CH", "NO", "IS", "LI"}
EXPORT = "G"

# VATEX codes and the wording the document prints (EN 16931 BT-120/BT-121).
EXEMPTIONS = {
    REVERSE_CHARGE: ("VATEX-EU-AE", "Reverse charge"),
    EXPORT: ("VATEX-EU-G", "Export outside the EU"),
    NOT_SUBJECT: ("VATEX-EU-O", "Not subject to VAT"),
}


def vat_id(tax_id: str, country: str) -> str:
    """The tax id when it is a VAT number (prefix = country code, EL for Greece), else ''."""
    compact = tax_id.replace(" ", "").upper()
    prefix = "EL" if country == "GR" else country
    if country in VAT_PREFIX_COUNTRIES and compact.startswith(prefix) and len(compact) > 4:
        return compact
    return ""


def category(rate: Decimal, *, seller_country: str, buyer_country: str, buyer_vat_id: str) -> str:
    """The UNCL 5305 VAT category of a line, derived from the rate and the parties.

    A charged rate is standard (S). At 0 %: a seller outside the VAT area is not subject
    to it (O); an intra-EU B2B supply to a VAT-registered buyer is reverse charge (AE); a
    buyer outside the EU is an export (G); anything else is zero rated (Z).
    """
    if rate > 0:
        return STANDARD_RATE
    if seller_country not in VAT_PREFIX_COUNTRIES:
        return NOT_SUBJECT
    if buyer_country in EU_COUNTRIES and seller_country in EU_COUNTRIES and buyer_country != seller_country:
        return REVERSE_CHARGE if buyer_vat_id else ZERO_RATED
    if buyer_country and buyer_country not in EU_COUNTRIES:
        return EXPORT
    return ZERO_RATED
