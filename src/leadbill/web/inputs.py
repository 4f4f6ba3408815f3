"""Reading what people type into forms, with errors that name the field.

Numbers go through the domain's one bounded reader (`domain.money.parse_decimal`,
`domain.numbers.whole_number`) with the entity's locale, so "2,500.00" (en_US) and "7,5"
(de_DE) read as people write them; files and the API stay strict decimal strings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import UnknownLocaleError
from babel.numbers import format_decimal

from leadbill.domain.errors import DomainError
from leadbill.domain.money import amount_from_text, parse_decimal
from leadbill.domain.numbers import MAX_DIGITS, whole_number
from leadbill.domain.periods import check_day


def day_input(text: str | None, field: str, default: date | None = None) -> date:
    """A date typed into a form (YYYY-MM-DD), within the years the domain accepts."""
    if not text or not text.strip():
        if default is None:
            raise DomainError("required", field=field)
        return default
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("give a date as YYYY-MM-DD", field=field) from None
    return check_day(day, field)


def decimal_input(text: str | None, field: str, *, locale: str) -> Decimal:
    """A decimal typed as the entity's locale writes it ("7,5" de_DE); empty is "required"."""
    if not text or not text.strip():
        raise DomainError("required", field=field)
    return parse_decimal(text, field=field, locale=locale)


def decimal_text(text: str | None, field: str, *, locale: str) -> str:
    """What a person typed as a plain decimal string ("2.500,5" de_DE -> "2500.5") for readers of
    the set-up file's format (price plans), which keep their own rules and messages.

    Empty stays empty (the reader says what is missing); a refused text raises naming the field.
    """
    if not text or not text.strip():
        return ""
    return f"{parse_decimal(text, field=field, locale=locale):f}"


def amount_input(text: str | None, currency: str, field: str, *, locale: str) -> int:
    """An amount typed as the entity's locale writes it, in minor units of `currency`, exactly."""
    return amount_from_text(text or "", currency, field=field, locale=locale)


def count_input(text: str | None, field: str, *, locale: str, max_digits: int = MAX_DIGITS) -> int:
    """A whole number of things typed in a form ("2,500" en_US, "2.500" de_DE)."""
    if not text or not text.strip():
        raise DomainError("required", field=field)
    number = whole_number(text, max_digits=max_digits, locale=locale)
    if number is None:
        raise DomainError(f"a whole number such as {whole_example(locale)}", field=field)
    return number


def whole_example(locale: str) -> str:
    """2500 as the locale groups it, for messages."""
    try:
        return format_decimal(2500, locale=locale)
    except (ValueError, UnknownLocaleError):
        return "2500"
