"""Money: exact decimal amounts that always carry their currency.

Amounts live in code as `Decimal` and in the database as integers in the currency's
minor unit (JPY 0 decimals, USD 2, BHD 3). Unit prices may be finer than the minor
unit (0.125 per lead) and are stored as integer micro-units (six decimals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol
from babel.numbers import parse_decimal as babel_parse_decimal

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
# What the integer columns hold (a signed 64-bit integer is about 9.2e18), checked before conversion.
MAX_UNIT_PRICE = Decimal(10) ** 12  # in micro-units: below 1e18
MAX_AMOUNT = Decimal(10) ** 15  # in minor units (3 decimals at most): below 1e18


def check_currency(code: str) -> str:
    """Return the ISO 4217 code if it is one we bill in, else raise."""
    if code not in KNOWN_CURRENCIES:
        raise MoneyError(f"unknown currency {code!r} (expected an ISO 4217 code such as EUR)")
    return code


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit."""
    return _EXPONENTS.get(check_currency(currency), 2)


# The one reader of decimals from outside (CSV, JSON, YAML, forms, CLI). It checks the text's
# length and shape before any arithmetic: "1e999990" costs a worker seconds of CPU once
# multiplied out, and "1e999999999" overflows the decimal context.
MAX_DECIMAL_CHARS = 40
MAX_DECIMAL_DIGITS = 30
# Digits, an optional point, and at most a three-digit exponent ("1e-7" reads; "1e999990" does not).
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE)


_SPACES = " \u00a0\u202f"  # what people type for a locale grouping with a (narrow) no-break space
_APOSTROPHES = "'\u2019"  # de_CH groups with an apostrophe; keyboards give either


@lru_cache(maxsize=64)
def _number_symbols(name: str) -> tuple[Locale, str, str]:
    """The locale and its decimal and group symbols; an unknown name is an error of the caller's setup."""
    try:
        locale = Locale.parse(name)
    except (ValueError, TypeError, UnknownLocaleError):
        raise MoneyError(f"unknown locale {name!r}", field="locale") from None
    return locale, get_decimal_symbol(locale), get_group_symbol(locale)


def _delocalised(text: str, locale_name: str, field: str) -> str:
    """`text` as the locale writes numbers ("2.500,75" in de_DE) turned into a plain decimal ("2500.75").

    Only ASCII digits, a leading sign and the locale's own decimal and group symbols pass, and
    the grouping must be where the locale puts it (Babel's strict parsing): "1.5" in de_DE is
    refused with a hint rather than read as fifteen. No exponent: people do not type one.
    """
    locale, decimal_symbol, group_symbol = _number_symbols(locale_name)
    for family in (_SPACES, _APOSTROPHES):
        if group_symbol in family:
            for similar in family:
                text = text.replace(similar, group_symbol)
    if not text:
        raise MoneyError("required", field=field)
    body = text[1:] if text[:1] in "+-" else text
    allowed = {decimal_symbol, group_symbol}
    if not body or any(not (c.isascii() and c.isdigit()) and c not in allowed for c in body):
        raise MoneyError(f"not a number: {text!r} (write it as {locale_name} does, e.g. "
                         f"{_example(locale)})", field=field)  # fmt: skip
    try:
        value = babel_parse_decimal(text, locale, strict=True)
    except NumberFormatError as exc:
        raise MoneyError(str(exc), field=field) from None
    return f"{value:f}"


def _example(locale: Locale) -> str:
    """How the locale writes two thousand five hundred and a half, for error messages."""
    return f"2{get_group_symbol(locale)}500{get_decimal_symbol(locale)}50"


def parse_decimal(text: str | int | Decimal, *, field: str = "amount", locale: str | None = None) -> Decimal:
    """An exact decimal from outside: ASCII digits with an optional sign, point and small exponent, bounded.

    Floats are refused (not exact), and so are NaN and infinities, digits of other scripts,
    exponents beyond three digits and more than MAX_DECIMAL_CHARS characters, before anything
    is computed.

    With `locale` (a form typed by a person: the entity's locale), text is read as that locale
    writes numbers, grouping and decimal symbol included ("2,500.00" en_US, "7,5" de_DE), after
    the same length bound; files and the API pass no locale and stay strict decimal strings.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | Decimal):
        raise MoneyError(f"expected a decimal string, got {type(text).__name__}", field=field)
    if isinstance(text, str):
        plain = text.strip()
        if locale is not None and len(plain) <= MAX_DECIMAL_CHARS and not _NOT_FINITE.fullmatch(plain):
            plain = _delocalised(plain, locale, field)
        if len(plain) > MAX_DECIMAL_CHARS:
            raise MoneyError(
                f"too long for a number ({len(plain)} characters, at most {MAX_DECIMAL_CHARS})", field=field
            )
        if _NOT_FINITE.fullmatch(plain):
            raise MoneyError(f"not a finite number: {text!r}", field=field)
        if not _PLAIN_DECIMAL.fullmatch(plain):
            raise MoneyError(f"not a decimal number: {text!r}", field=field)
        return Decimal(plain)
    value = Decimal(text)
    if not value.is_finite():
        raise MoneyError(f"not a finite number: {text!r}", field=field)
    if len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS or abs(value.adjusted()) > 999:
        raise MoneyError(f"out of range: {text!r}"[:80], field=field)
    return value


def unit_price_to_micros(price: Decimal, *, field: str = "price") -> int:
    """Exact conversion of a unit price to integer micro-units; refuses finer prices and absurd sizes."""
    if not price.is_finite() or abs(price) >= MAX_UNIT_PRICE:
        raise MoneyError(f"a unit price must be below {MAX_UNIT_PRICE:,}", field=field)
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
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise MoneyError(f"an amount must be below {MAX_AMOUNT:,}", field=field)
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


def amount_from_text(text: str, currency: str, *, field: str = "amount", locale: str | None = None) -> int:
    """An amount typed or sent as text ("120.50") in minor units, exactly.

    More decimals than the currency has is refused, never rounded; so is an amount
    beyond MAX_AMOUNT_MINOR (a typo, and more than a bigint column should meet).
    `locale`: read as a person of that locale types it ("1.250,50" de_DE), see parse_decimal.
    """
    text = (text or "").strip()
    if not text:
        raise MoneyError("give an amount such as 120.00", field=field)
    if len(text) > 24:
        raise MoneyError(f"{text[:24]}... is too long for an amount", field=field)
    minor = decimal_to_minor(parse_decimal(text, field=field, locale=locale), currency, field=field)
    if abs(minor) > MAX_AMOUNT_MINOR:
        raise MoneyError(f"{text} {currency} is beyond any amount Leadbill takes", field=field)
    return minor
