"""Reading one value of the set-up file: the `_Fields` reader of a mapping and one converter per kind of
value (text, e-mail, IBAN, whole number, percentage, money, instant, address), each bounded before use."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leadbill.domain import bounds, identifiers
from leadbill.domain.errors import DomainError
from leadbill.domain.money import (
    decimal_to_minor,
    parse_decimal,
    unit_price_to_micros,
)
from leadbill.domain.peppol import check_participant_id
from leadbill.domain.periods import check_day, local_midnight, zone
from leadbill.domain.pricing.base import check_price
from leadbill.domain.tax import check_rate
from leadbill.domain.text import check_text
from leadbill.loader.schema.problems import FORMAT_VERSION, Problem
from leadbill.loader.schema.specs import Address

# Column limits, mirroring the models so PostgreSQL never refuses a value mid-load.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_INT = 2**31 - 1  # PositiveIntegerField
_MAX_BIGINT = 2**63 - 1  # BigIntegerField


# --- reading values ----------------------------------------------------------------------

_REQUIRED: Any = object()
_ABSENT: Any = object()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, Decimal):
        return "a decimal number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Fields:
    """One mapping of the file being read.

    Every key read is remembered, so the keys left over at `close()` are reported as
    unknown (with the nearest known key as a hint). Each reader records its problem at
    the key's path and returns a placeholder, so reading goes on and every problem of
    the file is found in one pass.
    """

    def __init__(self, problems: list[Problem], path: str, raw: Any) -> None:
        self.problems = problems
        self.path = path
        self.ok = isinstance(raw, dict)
        if not self.ok:
            problems.append(Problem(path, f"expected a mapping, got {_kind(raw)}"))
        self.raw: dict[Any, Any] = raw if isinstance(raw, dict) else {}
        self.known: list[str] = []

    def at(self, key: str | int) -> str:
        return _join(self.path, key)

    def problem(self, key: str | int, message: str) -> None:
        self.problems.append(Problem(self.at(key), message))

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def take(self, key: str) -> Any:
        """The raw value of `key`; `_ABSENT` when missing or null."""
        self.known.append(key)
        value = self.raw.get(key)
        return _ABSENT if value is None else value

    def read(self, key: str, convert: Callable[[Any], Any], default: Any = _REQUIRED) -> Any:
        value = self.take(key)
        if value is _ABSENT:
            if default is _REQUIRED:
                self.problem(key, "required")
                return None
            return default
        try:
            result = convert(value)
        except DomainError as exc:
            self.problem(key, exc.message)
            return None if default is _REQUIRED else default
        if default is _REQUIRED and result == "":
            self.problem(key, "must not be empty")
        return result

    def text(self, key: str, max_length: int, default: Any = "", **kw: Any) -> str:
        value: str = self.read(key, _text(max_length, **kw), default)
        return value

    def mapping(self, key: str) -> _Fields:
        value = self.take(key)
        return _Fields(self.problems, self.at(key), {} if value is _ABSENT else value)

    def items(self, key: str) -> list[tuple[str, Any]]:
        """(path, raw) of each item of a list; an absent list is empty."""
        value = self.take(key)
        if value is _ABSENT:
            return []
        if not isinstance(value, list):
            self.problem(key, f"expected a list, got {_kind(value)}")
            return []
        return [(_join(self.at(key), i), item) for i, item in enumerate(value)]

    def close(self) -> None:
        for key in self.raw:
            if key in self.known:
                continue
            hint = difflib.get_close_matches(str(key), self.known, n=1)
            expected = f"did you mean {hint[0]!r}?" if hint else f"expected one of: {', '.join(self.known)}"
            self.problem(str(key), f"unknown key ({expected})")


def _text(
    max_length: int, *, pattern: re.Pattern[str] | None = None, expected: str = "", multiline: bool = False
) -> Callable[[Any], str]:
    """Text of at most `max_length` characters; a control character is refused (`domain.text`)."""

    def convert(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, dict | list):
            raise DomainError(f"expected text, got {_kind(value)}")
        if not isinstance(value, str):
            raise DomainError(f"expected text, got {_kind(value)}; write it in quotes")
        text: str = value.strip()
        if len(text) > max_length:
            raise DomainError(f"at most {max_length} characters, got {len(text)}")
        if "\x00" in text:
            raise DomainError("contains a NUL character")
        check_text(text, multiline=multiline)
        if pattern is not None and text and not pattern.fullmatch(text):
            raise DomainError(expected or f"does not match {pattern.pattern}")
        return text

    return convert


_slug = _text(60, pattern=_SLUG, expected="letters, digits, '-' and '_' only")
_country = _text(100, pattern=_COUNTRY, expected="an ISO 3166-1 country code of two capital letters, e.g. DE")


def _email(value: Any) -> str:
    text = _text(254)(value)
    try:
        validate_email(text)
    except ValidationError:
        raise DomainError(f"not an e-mail address: {text!r}") from None
    return text


def _iban(value: Any) -> str:
    return identifiers.iban(_text(60)(value))


def _bic(value: Any) -> str:
    return identifiers.bic(_text(20)(value))


def _tax_id(country: str) -> Callable[[Any], str]:
    """A tax id checked by the rules of `country` (the address's; '' lets a VAT prefix decide)."""

    def convert(value: Any) -> str:
        return identifiers.tax_id(_text(identifiers.MAX_LENGTH)(value), country)

    return convert


def _integer(minimum: int = 0, maximum: int = _MAX_INT) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError(f"expected a whole number, got {_kind(value)}")
        if not minimum <= value <= maximum:
            raise DomainError(f"must be from {minimum} to {maximum}, got {value}")
        return value

    return convert


# What a run does with leads over a cap (leadbill.domain.caps): bill and flag, leave out, or bill at a price.
CAP_POLICIES = ("flag", "exclude", "price")


def _unit_price_micros(value: Any) -> int:
    """A price per lead as plan prices are read (exact decimal, not negative, at most six decimals)."""
    return unit_price_to_micros(check_price(value, "over_cap_price"))


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise DomainError(f"expected true or false, got {_kind(value)}")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise DomainError(f"one of {', '.join(options)}; got {value!r}")
        return str(value)

    return convert


def _version(value: Any) -> int:
    if value != FORMAT_VERSION or isinstance(value, bool):
        raise DomainError(f"this Leadbill reads version {FORMAT_VERSION} of the set-up file, got {value!r}")
    return FORMAT_VERSION


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise DomainError(f"expected a decimal number, got {_kind(value)}")
    return parse_decimal(value)


def _percent_bp(value: Any) -> int:
    """A percentage with at most two decimals (`19`, `7.5`) in basis points (1900, 750)."""
    percent = _decimal(value)
    if not Decimal(0) <= percent <= Decimal(100):
        raise DomainError(f"a percentage from 0 to 100, got {percent}")
    if percent != percent.quantize(Decimal("0.01")):
        raise DomainError(f"at most two decimals, got {percent}")
    return int(percent * 100)


def _tax_rate_bp(value: Any) -> int:
    return int(check_rate(_decimal(value)) * 100)


def _money_minor(currency: str | None) -> Callable[[Any], int | None]:
    """An amount in major units (`5000.00`) in the currency's minor units (500000)."""

    def convert(value: Any) -> int | None:
        amount = _decimal(value)
        if amount < 0:
            raise DomainError("cannot be negative")
        if currency is None:  # the currency is wrong and reported already
            return None
        minor = decimal_to_minor(amount, currency)
        if minor > _MAX_BIGINT:
            raise DomainError("too large")
        return minor

    return convert


def _multiple(value: Any) -> int | None:
    """A safety-bound multiple: a whole number from MIN_MULTIPLE to MAX_MULTIPLE, or `off`."""
    if value == "off":
        return None
    return _integer(bounds.MIN_MULTIPLE, bounds.MAX_MULTIPLE)(value)


def _safety_bounds(f: _Fields, currency: str | None) -> dict[str, int | None] | None:
    """`safety_bounds: {total_multiple, unit_price_multiple, limit}` as Entity columns; None when not given.

    Given, it sets all three: a key left out takes its default (5, 10, no limit).
    """
    if not f.has("safety_bounds"):
        f.take("safety_bounds")
        return None
    sb = f.mapping("safety_bounds")
    columns = {
        "bound_total_multiple": sb.read("total_multiple", _multiple, bounds.DEFAULT_TOTAL_MULTIPLE),
        "bound_unit_price_multiple": sb.read("unit_price_multiple", _multiple, bounds.DEFAULT_UNIT_PRICE_MULTIPLE),
        "bound_limit_minor": sb.read("limit", _money_minor(currency), None),
    }
    if columns["bound_limit_minor"] == 0:
        sb.problem("limit", "a limit above zero, or leave it out for no limit")
    sb.close()
    return columns


def _zone_name(value: Any) -> str:
    name = _text(64)(value)
    zone(name)
    return name


def _instant(value: Any, tz: ZoneInfo | None) -> datetime | None:
    """An ISO date (local midnight in `tz`) or date-time (naive ones are local too), in UTC."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else datetime.fromisoformat(text)
        except ValueError as exc:
            raise DomainError(f"not a valid date or date and time: {text!r} ({exc})") from None
    if isinstance(value, datetime):
        check_day(value.date(), "from")
        if value.tzinfo is None:
            return value.replace(tzinfo=tz).astimezone(UTC) if tz is not None else None
        return value.astimezone(UTC)
    if isinstance(value, date):
        check_day(value, "from")
        return local_midnight(value, tz) if tz is not None else None
    raise DomainError("expected an ISO date (2026-01-01, local midnight) or date and time (2026-01-01T06:00:00+01:00)")


def _address(fields: _Fields, *, country_required: bool) -> Address:
    address = fields.mapping("address")
    result = Address(
        line1=address.text("line1", 200),
        line2=address.text("line2", 200),
        postal_code=address.text("postal_code", 20),
        city=address.text("city", 100),
        country=address.read("country", _country, _REQUIRED if country_required else ""),
    )
    # The state or province: a code where the country's post uses one (US, CA, AU: domain.regions).
    from leadbill.domain.regions import region

    country = result.country or ""
    result = Address(
        line1=result.line1, line2=result.line2, postal_code=result.postal_code, city=result.city,
        region=address.read("region", lambda value: region(_text(100)(value), country), ""), country=result.country,
    )  # fmt: skip
    address.close()
    return result


def _peppol_id(value: Any) -> str:
    return check_participant_id(_text(60)(value), field="")


def _unique(problems: list[Problem], seen: dict[Any, str], key: Any, path: str, what: str) -> None:
    if not key:  # missing or bad, and reported already
        return
    if key in seen:
        problems.append(Problem(path, f"{what} is already given at {seen[key]}"))
    else:
        seen[key] = path
