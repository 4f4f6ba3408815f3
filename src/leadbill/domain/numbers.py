"""The one reader of whole numbers that come from outside (forms, URLs, cursors, clocks, env).

`str.isdigit()` accepts Unicode digits such as '²' that `int()` refuses, and `int()` of a long
string costs time before any bound can be checked. This reader takes ASCII digits only, bounded by
length before any conversion, and never raises: a caller turns None into its own message.
"""

from __future__ import annotations

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


def whole_number(text: object, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The non-negative integer `text` spells in ASCII digits (surrounding blanks ignored), else None."""
    digits = digit_string(text, max_digits=max_digits)
    return None if digits is None else int(digits)
