"""Money, dates, periods and counts as the entity's locale writes them (Babel, CLDR data)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from leadbill.domain.money import MICROS_EXPONENT, exponent


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name)
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en_US")


class Formatter:
    """Formats for one document: one locale, one currency."""

    def __init__(self, locale: str, currency: str) -> None:
        self.locale = _locale(locale)
        self.currency = currency

    def money(self, minor: int) -> str:
        return format_currency(Decimal(minor).scaleb(-exponent(self.currency)), self.currency, locale=self.locale)

    def money_whole(self, minor: int) -> str:
        """Rounded to whole units for chart axes and labels ("$5,000"); never on a document."""
        value = Decimal(minor).scaleb(-exponent(self.currency)).quantize(Decimal(1))
        return format_currency(value, self.currency, locale=self.locale, currency_digits=False,
                               format="¤#,##0", format_type="standard")  # fmt: skip

    def price(self, micros: int) -> str:
        """A unit price: the currency's decimals, more only when the price has them (0.125)."""
        value = Decimal(micros).scaleb(-MICROS_EXPONENT).normalize()
        return format_currency(value, self.currency, locale=self.locale, decimal_quantization=False)

    def count(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, rate: Decimal) -> str:
        return format_percent(rate / 100, locale=self.locale, decimal_quantization=False)

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code, code))

    def date(self, day: date) -> str:
        return format_date(day, "long", locale=self.locale)

    def short_date(self, day: date) -> str:
        return format_date(day, "short", locale=self.locale)

    def period(self, first: date, last: date) -> str:
        """CLDR's interval, months written out, exactly as the pinned Babel gives it (decision 0006).

        'October 1\u2009–\u200931, 2026' (en_US), '1\u2009–\u200931 October 2026' (en_GB): thin spaces
        around the dash; '1.–31. Oktober 2026' (de_DE).
        """
        if first == last:
            return self.date(first)
        forms = self.locale.interval_formats.get("yMMMd")
        if not forms:
            return f"{self.date(first)} \u2013 {self.date(last)}"
        greatest = "y" if first.year != last.year else "M" if first.month != last.month else "d"
        head, tail = (p.replace("MMM", "MMMM") for p in forms[greatest])
        return format_date(first, head, locale=self.locale) + format_date(last, tail, locale=self.locale)
