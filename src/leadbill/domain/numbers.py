"""The one reader of whole numbers that come from outside (forms, URLs, cursors, clocks, env).

`str.isdigit()` accepts Unicode digits such as '²' that `int()` refuses, and `int()` of a long
string costs time before any bound can be checked. This reader takes ASCII digits only, bounded by
length before any conversion, and never raises: a caller turns None into its own message.
"""

from __future__ import annotations

from leadbill.domain.errors import MoneyError
from leadbill.domain.money import parse_decimal

MAX_DIGITS = 18  # fits a 64-bit signed integer column


def digit_string(text: object, *, max_digits: int = MAX_DIGITS) -> str | None:
    """`text` (blanks around it ignored) when it is 1 to `max_digits` ASCII digits, else None.

    For codes made of digits whose leading zeros matter (account numbers, registry numbers).
    """
    if not isinstance(text, str):
        return None
    digits = text.strip()
    if not digits or len(digits) > max_digits or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def whole_number(text: object, *, max_digits: int = MAX_DIGITS, locale: str | None = None) -> int | None:
    """The non-negative integer `text` spells in ASCII digits (surrounding blanks ignored), else None.

    With `locale` (what a person typed into a form), the locale's grouping may be used too:
    "2,500" in en_US, "2.500" in de_DE; the grouping must be where the locale puts it.
    """
    if locale is not None and isinstance(text, str) and digit_string(text, max_digits=max_digits) is None:
        plain = text.strip()
        if not plain or len(plain) > 2 * max_digits or not plain[0].isascii() or not plain[0].isdigit():
            return None
        try:
            value = parse_decimal(plain, field="number", locale=locale)
        except MoneyError:
            return None
        if value != value.to_integral_value() or "." in f"{value:f}":
            return None
        text = f"{value:f}"
    digits = digit_string(text, max_digits=max_digits)
    return None if digits is None else int(digits)
