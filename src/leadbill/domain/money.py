"""Money: exact decimal amounts that always carry their currency.

Amounts live in code as `Decimal` and in the database as integers in the currency's
minor unit (JPY 0 decimals, USD 2, BHD 3). Unit prices may be finer than the minor
unit (0.125 per lead) and are stored as integer micro-units (six decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from leadbill.domain.errors import MoneyError

# ISO 4217 minor-unit exponents that differ from the default of 2.
_EXPONENTS: dict[str, int] = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
}  # fmt: skip

# A closed list keeps typos ("EUR " or "eur") out of the books.
KNOWN_CURRENCIES: frozenset[str] = frozenset(
    [
        "AED",
        "AUD",
        "BGN",
        "BHD",
        "BRL",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "ISK",
        "JOD",
        "JPY",
        "KRW",
        "KWD",
        "MXN",
        "MYR",
        "NOK",
        "NZD",
        "OMR",
        "PHP",
        "PLN",
        "RON",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TND",
        "TRY",
        "TWD",
        "UAH",
        "USD",
        "VND",
        "ZAR",
    ]
)

MICROS_EXPONENT = 6
MICROS = Decimal(10) ** MICROS_EXPONENT


def check_currency(code: str) -> str:
    """Return the ISO 4217 code if it is one we bill in, else raise."""
    if code not in KNOWN_CURRENCIES:
        raise MoneyError(f"unknown currency {code!r} (expected an ISO 4217 code such as EUR)")
    return code


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit."""
    return _EXPONENTS.get(check_currency(currency), 2)


def parse_decimal(text: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse an exact decimal from text; floats are refused because they are not exact."""
    if isinstance(text, bool) or not isinstance(text, str | int | Decimal):
        raise MoneyError(f"expected a decimal string, got {type(text).__name__}", field=field)
    try:
        value = Decimal(text.strip() if isinstance(text, str) else text)
    except InvalidOperation:
        raise MoneyError(f"not a decimal number: {text!r}", field=field) from None
    if not value.is_finite():
        raise MoneyError(f"not a finite number: {text!r}", field=field)
    return value


def unit_price_to_micros(price: Decimal, *, field: str = "price") -> int:
    """Exact conversion of a unit price to integer micro-units; refuses finer prices."""
    scaled = price * MICROS
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{price} has more than {MICROS_EXPONENT} decimals", field=field)
    return int(scaled)


def micros_to_unit_price(micros: int) -> Decimal:
    """Integer micro-units back to the shortest exact price (1500000 -> 1.5, 10000000 -> 10)."""
    if not micros:
        return Decimal(0)
    price = (Decimal(micros) / MICROS).normalize()
    # normalize() turns whole tens into exponent form (10 -> 1E+1); keep plain digits.
    return price.quantize(Decimal(1)) if price == price.to_integral_value() else price


def unit_price_text(micros: int, currency: str) -> str:
    """A unit price for people: at least the currency's decimals, more only when needed (2.50, 0.125)."""
    price = Decimal(micros).scaleb(-MICROS_EXPONENT)
    places = max(exponent(currency), -int(price.normalize().as_tuple().exponent) if price else 0)
    return f"{price:.{places}f}"


def minor_to_decimal(minor: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal with exactly the currency's decimals."""
    return Decimal(minor).scaleb(-exponent(currency))


def decimal_to_minor(amount: Decimal, currency: str, *, field: str = "amount") -> int:
    """Exact conversion to minor units; an amount finer than the minor unit is refused.

    Rounding is not done here on purpose: only `rounding.py` rounds.
    """
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount} has more decimals than {currency} allows ({exponent(currency)})",
            field=field,
        )
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, amount: str | Decimal, currency: str) -> Money:
        return cls(decimal_to_minor(parse_decimal(amount), currency), currency)

    @property
    def amount(self) -> Decimal:
        return minor_to_decimal(self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


MAX_AMOUNT_MINOR = 10**15  # 10 trillion in a two-decimal currency: beyond it is a typo, not money


def amount_from_text(text: str, currency: str, *, field: str = "amount") -> int:
    """An amount typed or sent as text ("120.50") in minor units, exactly.

    More decimals than the currency has is refused, never rounded; so is an amount
    beyond MAX_AMOUNT_MINOR (a typo, and more than a bigint column should meet).
    """
    text = (text or "").strip()
    if not text:
        raise MoneyError("give an amount such as 120.00", field=field)
    if len(text) > 24:
        raise MoneyError(f"{text[:24]}... is too long for an amount", field=field)
    minor = decimal_to_minor(parse_decimal(text, field=field), currency, field=field)
    if abs(minor) > MAX_AMOUNT_MINOR:
        raise MoneyError(f"{text} {currency} is beyond any amount Leadbill takes", field=field)
    return minor
