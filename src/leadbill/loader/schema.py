"""Reading a set-up file: YAML text to validated, frozen dataclasses. Nothing here writes.

`parse_document(text)` either returns a `SetupDocument` whose values are ready to store
(minor units, basis points, aware UTC datetimes, normalised price configs) or raises
`SetupFileError` listing every problem of the file, each at the path of its key:

    entities[0].partners[3].plans[1].tiers[2].price: a price cannot be negative

Plans may name a profile or lead type that is not in the file; a `Catalog` answers whether
the database already holds it (the default catalog knows nothing, so parsing stays pure).
The file format is documented in docs/setup-file.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leadbill.documents.logos import LOGO_MAX_BYTES as LOGO_MAX_BYTES
from leadbill.documents.logos import LOGO_MAX_PIXELS as LOGO_MAX_PIXELS
from leadbill.documents.logos import Logo, logo_read
from leadbill.domain import bounds, identifiers
from leadbill.domain.errors import DomainError, PricingError
from leadbill.domain.identifiers import aba_routing, account_number
from leadbill.domain.money import (
    MAX_DECIMAL_CHARS,
    check_currency,
    decimal_to_minor,
    parse_decimal,
    unit_price_to_micros,
)
from leadbill.domain.peppol import check_participant_id
from leadbill.domain.periods import check_day, local_midnight, zone
from leadbill.domain.pricing import model_from_config
from leadbill.domain.pricing.base import check_price
from leadbill.domain.tax import check_rate
from leadbill.domain.text import check_text

FORMAT_VERSION = 1
ROLES = ("buyer", "supplier")
BILLING_MODES = ("prepay", "credit")
SIDES = ("sell", "buy")

# Column limits, mirroring the models so PostgreSQL never refuses a value mid-load.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_INT = 2**31 - 1  # PositiveIntegerField
_MAX_BIGINT = 2**63 - 1  # BigIntegerField


# --- problems ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the file, at the path of its key (empty for the whole file)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SetupFileError(DomainError):
    """The file was refused; `problems` lists every problem found, in file order."""

    code = "setup_file"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the set-up file, nothing was loaded")
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {p}" for p in self.problems)])


# --- YAML -------------------------------------------------------------------------------


class SetupLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with YAML 1.2 core scalars and exact decimals.

    - a number with a decimal point (`2.00`) becomes `Decimal("2.00")`, built from its
      source text, so no price or amount ever passes through a binary float;
    - only `true` and `false` are booleans (YAML 1.1 reads the country code `NO` as false);
    - only plain decimal integers are ints: `02110` stays the text "02110" (a postal code),
      not the octal number 1096;
    - dates stay text; the schema reads them in the entity's time zone;
    - a key given twice in one mapping is an error, not a silent overwrite.
    """

    # Start from no implicit resolvers; the YAML 1.2 core ones are added below.
    yaml_implicit_resolvers = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key_node.value!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _construct_decimal(loader: SetupLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node))
    try:
        return parse_decimal(text.replace("_", ""))
    except DomainError:
        message = f"{text[:40]!r} is not an exact decimal number (at most {MAX_DECIMAL_CHARS} characters)"
        raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from None


for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?(0|[1-9][0-9]*)", "-+0123456789"),
    ("float", r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)", "-+0123456789."),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("merge", r"<<", "<"),
):
    SetupLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first))
SetupLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem("", f"not valid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    problem = exc.problem or exc.context or "cannot read this"
    message = f"YAML syntax error at {where}: {problem.removeprefix('but ')}"
    if exc.context and exc.problem and exc.context_mark and exc.context_mark is not mark:
        context_at = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message += f" ({exc.context} at {context_at})"
    return Problem("", message)


def load_yaml(text: str) -> Any:
    """The YAML document in `text`, with decimals for numbers that have a point."""
    try:
        return yaml.load(text, Loader=SetupLoader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise SetupFileError([_yaml_problem(exc)]) from None


# --- the validated document ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class LeadTypeSpec:
    path: str
    code: str
    name: str

    def columns(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    path: str
    code: str
    name: str
    is_active: bool

    def columns(self) -> dict[str, Any]:
        return {"name": self.name, "is_active": self.is_active}


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """One price-plan version; `config` is already normalised by its pricing model."""

    path: str
    model: str
    config: Mapping[str, Any]
    effective_from: datetime  # aware, UTC
    side: str
    profile: str | None
    lead_type: str | None


@dataclass(frozen=True, slots=True)
class PartnerSpec:
    path: str
    code: str
    name: str
    legal_name: str
    is_buyer: bool
    is_supplier: bool
    is_active: bool
    contact_name: str
    contact_email: str
    contact_phone: str
    billing_emails: tuple[str, ...]
    address: Address
    tax_id: str
    peppol_id: str
    buyer_reference: str
    currency: str
    payment_terms_days: int | None
    tax_rate_bp: int | None
    billing_mode: str
    credit_limit_minor: int | None
    low_balance_minor: int | None
    cap_daily: int | None
    cap_weekly: int | None
    cap_monthly: int | None
    cap_policy: str
    over_cap_price_micros: int | None
    returns_allowed: bool
    return_max_age_days: int | None
    return_max_share_bp: int | None
    return_auto_accept: bool
    report_fields: tuple[str, ...]
    profiles: tuple[ProfileSpec, ...]
    plans: tuple[PlanSpec, ...]

    def columns(self) -> dict[str, Any]:
        """The values of the Partner row (apart from its entity and code)."""
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "is_buyer": self.is_buyer,
            "is_supplier": self.is_supplier,
            "is_active": self.is_active,
            "contact_name": self.contact_name,
            "contact_email": self.contact_email,
            "contact_phone": self.contact_phone,
            "billing_emails": list(self.billing_emails),
            "address_line1": self.address.line1,
            "address_line2": self.address.line2,
            "postal_code": self.address.postal_code,
            "city": self.address.city,
            "region": self.address.region,
            "country": self.address.country,
            "tax_id": self.tax_id,
            "peppol_id": self.peppol_id,
            "buyer_reference": self.buyer_reference,
            "currency": self.currency,
            "payment_terms_days": self.payment_terms_days,
            "tax_rate_bp": self.tax_rate_bp,
            "billing_mode": self.billing_mode,
            "credit_limit_minor": self.credit_limit_minor,
            "low_balance_minor": self.low_balance_minor,
            "cap_daily": self.cap_daily,
            "cap_weekly": self.cap_weekly,
            "cap_monthly": self.cap_monthly,
            "cap_policy": self.cap_policy,
            "over_cap_price_micros": self.over_cap_price_micros,
            "returns_allowed": self.returns_allowed,
            "return_max_age_days": self.return_max_age_days,
            "return_max_share_bp": self.return_max_share_bp,
            "return_auto_accept": self.return_auto_accept,
            "report_fields": list(self.report_fields),
        }


@dataclass(frozen=True, slots=True)
class EntitySpec:
    path: str
    slug: str
    legal_name: str
    address: Address
    tax_id: str
    email: str
    phone: str
    iban: str
    bic: str
    payment_accounts: tuple[dict[str, str], ...]
    remit_to: str
    currency: str
    timezone: str
    locale: str
    invoice_prefix: str
    credit_note_prefix: str
    payment_terms_days: int
    tax_rate_bp: int
    peppol_id: str
    invoice_footer: str
    logo: Logo | None
    lead_types: tuple[LeadTypeSpec, ...]
    partners: tuple[PartnerSpec, ...]
    mail_from_name: str = ""
    mail_from_address: str = ""
    invitation_text: str = ""
    return_reasons: tuple[str, ...] = ()
    issue_and_send: bool | None = None  # None: not in the file, the console's choice stays
    safety_bounds: dict[str, int | None] | None = None  # None: not in the file, the console's choice stays

    def columns(self) -> dict[str, Any]:
        """The values of the Entity row (apart from its slug)."""
        return {
            **({} if self.issue_and_send is None else {"issue_and_send": self.issue_and_send}),
            **(self.safety_bounds or {}),
            "legal_name": self.legal_name,
            "address_line1": self.address.line1,
            "address_line2": self.address.line2,
            "postal_code": self.address.postal_code,
            "city": self.address.city,
            "region": self.address.region,
            "country": self.address.country,
            "tax_id": self.tax_id,
            "email": self.email,
            "phone": self.phone,
            "iban": self.iban,
            "bic": self.bic,
            "payment_accounts": [dict(a) for a in self.payment_accounts],
            "remit_to": self.remit_to,
            "currency": self.currency,
            "timezone": self.timezone,
            "locale": self.locale,
            "invoice_prefix": self.invoice_prefix,
            "credit_note_prefix": self.credit_note_prefix,
            "default_payment_terms_days": self.payment_terms_days,
            "default_tax_rate_bp": self.tax_rate_bp,
            "peppol_id": self.peppol_id,
            "invoice_footer": self.invoice_footer,
            "logo_sha256": self.logo.sha256 if self.logo else "",
            "mail_from_name": self.mail_from_name,
            "mail_from_address": self.mail_from_address,
            "invitation_text": self.invitation_text,
            "return_reasons": list(self.return_reasons),
        }


@dataclass(frozen=True, slots=True)
class SetupDocument:
    entities: tuple[EntitySpec, ...]


class Catalog(Protocol):
    """What already exists outside the file, for plans that name a profile or lead type."""

    def has_profile(self, entity: str, partner: str, code: str) -> bool: ...

    def has_lead_type(self, entity: str, code: str) -> bool: ...


class EmptyCatalog:
    """Nothing exists outside the file: every reference must be resolved within it."""

    def has_profile(self, entity: str, partner: str, code: str) -> bool:
        return False

    def has_lead_type(self, entity: str, code: str) -> bool:
        return False


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


# --- reading the document ----------------------------------------------------------------


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


REMIT_TO_LINES = 6
_ACH_KEYS = ("ach_routing", "ach_account", "wire_routing")


def _remit_to(value: Any) -> str:
    """A postal remit-to address: at most six lines, each checked as text."""
    text = _text(300, multiline=True)(value)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > REMIT_TO_LINES:
        raise DomainError(f"at most {REMIT_TO_LINES} lines, got {len(lines)}")
    return "\n".join(lines)


def _payment_accounts(fields: _Fields) -> tuple[dict[str, str], ...]:
    """`payment_accounts`: one account per currency, an IBAN one or a US ACH one, every value checked.

    Stored as given (compact), with only the keys that have a value, so a re-load changes nothing.
    """
    accounts: list[dict[str, str]] = []
    seen: dict[Any, str] = {}
    for path, raw in fields.items("payment_accounts"):
        a = _Fields(fields.problems, path, raw)
        if not a.ok:
            continue
        values = {"currency": a.read("currency", lambda v: check_currency(_text(20)(v)))}
        if not a.has("iban") and not any(a.has(key) for key in _ACH_KEYS):
            a.problem("iban", "required: an iban, or ach_routing and ach_account for a US account")
        elif a.has("iban"):
            for key in _ACH_KEYS:
                if a.has(key):
                    a.take(key)
                    a.problem(key, "an account has an iban, or ach_routing and ach_account, not both")
            values["iban"] = a.read("iban", _iban)
        else:
            if values["currency"] and values["currency"] != "USD":
                a.problem("currency", f"ACH pays in USD, got {values['currency']}")
            values["ach_routing"] = a.read("ach_routing", lambda v: aba_routing(_text(20)(v)))
            values["ach_account"] = a.read("ach_account", lambda v: account_number(_text(40)(v)))
            values["wire_routing"] = a.read("wire_routing", lambda v: aba_routing(_text(20)(v)), "")
        values["bic"] = a.read("bic", _bic, "")
        values["account_name"] = a.text("account_name", 70)
        values["bank_name"] = a.text("bank_name", 100)
        a.close()
        _unique(fields.problems, seen, values["currency"], f"{path}.currency", f"an account in {values['currency']}")
        accounts.append({k: v for k, v in values.items() if v})
    return tuple(accounts)


_mail_from_name = _text(100)
_invitation_text = _text(2000, multiline=True)
RETURN_REASONS_MAX = 30
_return_reason = _text(100)


def _return_reasons(fields: _Fields) -> tuple[str, ...]:
    """`return_reasons`: the reasons partners pick from when returning leads; each once, at most 30."""
    reasons: list[str] = []
    seen: dict[Any, str] = {}
    items = fields.items("return_reasons")
    if len(items) > RETURN_REASONS_MAX:
        fields.problem("return_reasons", f"at most {RETURN_REASONS_MAX} reasons, got {len(items)}")
    for path, raw in items[:RETURN_REASONS_MAX]:
        try:
            reason = _return_reason(raw)
        except DomainError as exc:
            fields.problems.append(Problem(path, exc.message))
            continue
        if not reason:
            fields.problems.append(Problem(path, "must not be empty"))
            continue
        _unique(fields.problems, seen, reason.casefold(), path, f"reason {reason!r}")
        reasons.append(reason)
    return tuple(reasons)


def _peppol_id(value: Any) -> str:
    return check_participant_id(_text(60)(value), field="")


def _unique(problems: list[Problem], seen: dict[Any, str], key: Any, path: str, what: str) -> None:
    if not key:  # missing or bad, and reported already
        return
    if key in seen:
        problems.append(Problem(path, f"{what} is already given at {seen[key]}"))
    else:
        seen[key] = path


class _Reader:
    def __init__(self, catalog: Catalog, base_dir: Path | None = None) -> None:
        self.catalog = catalog
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def _logo(self, value: Any) -> Logo:
        name = _text(500)(value)
        path = Path(name)
        if not path.is_absolute():
            path = (self.base_dir or Path.cwd()) / path
        return logo_read(path)

    def document(self, raw: Any) -> SetupDocument:
        if raw is None:
            self.problems.append(Problem("", "the file is empty"))
            return SetupDocument(())
        top = _Fields(self.problems, "", raw)
        top.read("version", _version, FORMAT_VERSION)
        items = top.items("entities")
        if top.ok and not top.has("entities"):
            top.problem("entities", "required")
        top.close()
        entities: list[EntitySpec] = []
        seen: dict[Any, str] = {}
        for path, item in items:
            entity = self.entity(path, item)
            if entity is not None:
                _unique(self.problems, seen, entity.slug, f"{path}.slug", f"entity {entity.slug!r}")
                entities.append(entity)
        return SetupDocument(tuple(entities))

    def entity(self, path: str, raw: Any) -> EntitySpec | None:
        f = _Fields(self.problems, path, raw)
        if not f.ok:
            return None
        slug = f.read("slug", _text(50, pattern=_SLUG, expected="letters, digits, '-' and '_' only"))
        legal_name = f.text("legal_name", 200, _REQUIRED)
        address = _address(f, country_required=True)
        tax_id = f.read("tax_id", _tax_id(address.country), "")
        email = f.read("email", _email, "")
        phone = f.text("phone", 40)
        iban = f.read("iban", _iban, "")
        bic = f.read("bic", _bic, "")
        payment_accounts = _payment_accounts(f)
        remit_to = f.read("remit_to", _remit_to, "")
        currency = f.read("currency", lambda v: check_currency(_text(20)(v)))
        timezone = f.read("timezone", _zone_name)
        locale = f.text("locale", 16, "en_US", pattern=_LOCALE, expected="a locale such as en_US or de_DE")
        invoice_prefix = f.text("invoice_prefix", 20, _REQUIRED)
        credit_note_prefix = f.text("credit_note_prefix", 20)
        payment_terms = f.read("payment_terms_days", _integer(), 30)
        tax_rate_bp = f.read("tax_rate", _tax_rate_bp, 0)
        peppol_id = f.read("peppol_id", _peppol_id, "")
        invoice_footer = f.text("invoice_footer", 500, multiline=True)
        logo = f.read("logo", self._logo, None)
        mail_from_name = f.read("mail_from_name", _mail_from_name, "")
        mail_from_address = f.read("mail_from_address", _email, "")
        invitation_text = f.read("invitation_text", _invitation_text, "")
        return_reasons = _return_reasons(f)
        issue_and_send = f.read("issue_and_send", _boolean, None)
        safety_bounds = _safety_bounds(f, currency)

        lead_types: list[LeadTypeSpec] = []
        seen: dict[Any, str] = {}
        for item_path, item in f.items("lead_types"):
            lt = _Fields(self.problems, item_path, item)
            if not lt.ok:
                continue
            spec = LeadTypeSpec(item_path, lt.read("code", _slug), lt.text("name", 200, _REQUIRED))
            lt.close()
            _unique(self.problems, seen, spec.code, f"{item_path}.code", f"lead type {spec.code!r}")
            lead_types.append(spec)
        lead_type_codes = {lt.code for lt in lead_types}

        tz = zone(timezone) if timezone else None
        partners: list[PartnerSpec] = []
        seen = {}
        for item_path, item in f.items("partners"):
            partner = self.partner(item_path, item, entity=slug, currency=currency, tz=tz, lead_types=lead_type_codes)
            if partner is not None:
                _unique(self.problems, seen, partner.code, f"{item_path}.code", f"partner {partner.code!r}")
                partners.append(partner)
        f.close()
        return EntitySpec(
            path=path,
            slug=slug,
            legal_name=legal_name,
            address=address,
            tax_id=tax_id,
            email=email,
            phone=phone,
            iban=iban,
            bic=bic,
            payment_accounts=payment_accounts,
            remit_to=remit_to,
            currency=currency,
            timezone=timezone,
            locale=locale,
            invoice_prefix=invoice_prefix,
            credit_note_prefix=credit_note_prefix,
            payment_terms_days=payment_terms,
            tax_rate_bp=tax_rate_bp,
            peppol_id=peppol_id,
            invoice_footer=invoice_footer,
            logo=logo,
            lead_types=tuple(lead_types),
            partners=tuple(partners),
            mail_from_name=mail_from_name,
            mail_from_address=mail_from_address,
            invitation_text=invitation_text,
            return_reasons=return_reasons,
            issue_and_send=issue_and_send,
            safety_bounds=safety_bounds,
        )

    def partner(
        self,
        path: str,
        raw: Any,
        *,
        entity: str | None,
        currency: str | None,
        tz: ZoneInfo | None,
        lead_types: set[str],
    ) -> PartnerSpec | None:
        f = _Fields(self.problems, path, raw)
        if not f.ok:
            return None
        code = f.read("code", _slug)
        name = f.text("name", 200, _REQUIRED)
        legal_name = f.text("legal_name", 200)

        roles: list[str] = [] if f.has("roles") else ["buyer"]
        role_items = f.items("roles")
        for item_path, item in role_items:
            if item not in ROLES:
                self.problems.append(Problem(item_path, f"one of {', '.join(ROLES)}; got {item!r}"))
            elif item in roles:
                self.problems.append(Problem(item_path, f"{item!r} is given twice"))
            else:
                roles.append(item)
        if f.raw.get("roles") == []:
            f.problem("roles", "give at least one of buyer, supplier")
        is_active = f.read("active", _boolean, True)

        contact = f.mapping("contact")
        contact_name = contact.text("name", 200)
        contact_email = contact.read("email", _email, "")
        contact_phone = contact.text("phone", 40)
        contact.close()

        billing_emails: list[str] = []
        for item_path, item in f.items("billing_emails"):
            try:
                billing_emails.append(_email(item))
            except DomainError as exc:
                self.problems.append(Problem(item_path, exc.message))
        address = _address(f, country_required=False)
        tax_id = f.read("tax_id", _tax_id(address.country), "")
        peppol_id = f.read("peppol_id", _peppol_id, "")
        buyer_reference = f.text("buyer_reference", 100)
        own_currency = f.read("currency", lambda v: check_currency(_text(20)(v)), currency)
        payment_terms = f.read("payment_terms_days", _integer(), None)
        tax_rate_bp = f.read("tax_rate", _tax_rate_bp, None)
        billing_mode = f.read("billing_mode", _choice(BILLING_MODES), "credit")
        credit_limit = f.read("credit_limit", _money_minor(own_currency), None)
        low_balance = f.read("low_balance_alert", _money_minor(own_currency), None)
        if billing_mode == "prepay" and f.has("credit_limit"):
            f.problem("credit_limit", "only for billing_mode: credit")
        if billing_mode == "credit" and f.has("low_balance_alert"):
            f.problem("low_balance_alert", "only for billing_mode: prepay")

        caps = f.mapping("caps")
        cap_daily = caps.read("daily", _integer(), None)
        cap_weekly = caps.read("weekly", _integer(), None)
        cap_monthly = caps.read("monthly", _integer(), None)
        cap_policy = caps.read("policy", _choice(CAP_POLICIES), "flag")
        over_cap_price = caps.read("over_cap_price", _unit_price_micros, None)
        if cap_policy == "price" and over_cap_price is None and not caps.has("over_cap_price"):
            caps.problem("over_cap_price", "required with policy: price (the price per lead beyond a cap)")
        caps.close()

        returns = f.mapping("returns")
        returns_allowed = returns.read("allowed", _boolean, True)
        return_max_age = returns.read("max_age_days", _integer(), None)
        return_max_share = returns.read("max_share", _percent_bp, None)
        return_auto_accept = returns.read("auto_accept", _boolean, False)
        returns.close()

        report_fields: list[str] = []
        for item_path, item in f.items("report_fields"):
            try:
                field = _text(100)(item)
            except DomainError as exc:
                self.problems.append(Problem(item_path, exc.message))
                continue
            if not field or field in report_fields:
                self.problems.append(Problem(item_path, "empty or given twice"))
            else:
                report_fields.append(field)

        profiles: list[ProfileSpec] = []
        seen: dict[Any, str] = {}
        for item_path, item in f.items("profiles"):
            pf = _Fields(self.problems, item_path, item)
            if not pf.ok:
                continue
            spec = ProfileSpec(
                item_path,
                pf.read("code", _slug),
                pf.text("name", 200, _REQUIRED),
                pf.read("active", _boolean, True),
            )
            pf.close()
            _unique(self.problems, seen, spec.code, f"{item_path}.code", f"profile {spec.code!r}")
            profiles.append(spec)
        profile_codes = {p.code for p in profiles}

        plans: list[PlanSpec] = []
        seen = {}
        for item_path, item in f.items("plans"):
            plan = self.plan(
                item_path,
                item,
                tz=tz,
                is_buyer="buyer" in roles,
                is_supplier="supplier" in roles,
                has_profile=lambda c: c in profile_codes or self.catalog.has_profile(entity or "", code or "", c),
                has_lead_type=lambda c: c in lead_types or self.catalog.has_lead_type(entity or "", c),
            )
            if plan is not None and plan.effective_from is not None:
                scope = (plan.profile, plan.lead_type, plan.side, plan.effective_from)
                _unique(self.problems, seen, scope, item_path, "a plan with the same scope, side and start")
                plans.append(plan)
        f.close()
        return PartnerSpec(
            path=path,
            code=code,
            name=name,
            legal_name=legal_name,
            is_buyer="buyer" in roles,
            is_supplier="supplier" in roles,
            is_active=is_active,
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            billing_emails=tuple(billing_emails),
            address=address,
            tax_id=tax_id,
            peppol_id=peppol_id,
            buyer_reference=buyer_reference,
            currency=own_currency,
            payment_terms_days=payment_terms,
            tax_rate_bp=tax_rate_bp,
            billing_mode=billing_mode,
            credit_limit_minor=credit_limit,
            low_balance_minor=low_balance,
            cap_daily=cap_daily,
            cap_weekly=cap_weekly,
            cap_monthly=cap_monthly,
            cap_policy=cap_policy,
            over_cap_price_micros=over_cap_price,
            returns_allowed=returns_allowed,
            return_max_age_days=return_max_age,
            return_max_share_bp=return_max_share,
            return_auto_accept=return_auto_accept,
            report_fields=tuple(report_fields),
            profiles=tuple(profiles),
            plans=tuple(plans),
        )

    def plan(
        self,
        path: str,
        raw: Any,
        *,
        tz: ZoneInfo | None,
        is_buyer: bool,
        is_supplier: bool,
        has_profile: Callable[[str], bool],
        has_lead_type: Callable[[str], bool],
    ) -> PlanSpec | None:
        f = _Fields(self.problems, path, raw)
        if not f.ok:
            return None
        model = f.read("model", _text(20))
        effective_from = f.read("from", lambda v: _instant(v, tz))
        side = f.read("side", _choice(SIDES), "sell" if is_buyer or not is_supplier else "buy")
        if side == "sell" and not is_buyer:
            f.problem("side", "a sell plan needs the partner's buyer role")
        if side == "buy" and not is_supplier:
            f.problem("side", "a buy plan needs the partner's supplier role")
        profile = f.read("profile", _slug, None)
        if profile and not has_profile(profile):
            f.problem("profile", f"no profile {profile!r} for this partner, in the file or the database")
        lead_type = f.read("lead_type", _slug, None)
        if lead_type and not has_lead_type(lead_type):
            f.problem("lead_type", f"no lead type {lead_type!r} in this entity, in the file or the database")
        # What is left is the pricing model's own configuration; the model names its bad key.
        config = {key: value for key, value in f.raw.items() if key not in f.known}
        f.known.extend(str(key) for key in config)
        normalised: dict[str, Any] = {}
        if model:
            try:
                normalised = model_from_config(model, config).to_config()
            except PricingError as exc:
                self.problems.append(Problem(_join(path, exc.field) if exc.field else path, exc.message))
        f.close()
        return PlanSpec(
            path=path,
            model=model,
            config=normalised,
            effective_from=effective_from,
            side=side,
            profile=profile,
            lead_type=lead_type,
        )


def read_document(data: Any, *, catalog: Catalog | None = None, base_dir: Path | None = None) -> SetupDocument:
    """Validate loaded YAML data; raises SetupFileError with every problem found.

    Files the document names (an entity's logo) are read relative to `base_dir`.
    """
    reader = _Reader(catalog or EmptyCatalog(), base_dir)
    document = reader.document(data)
    if reader.problems:
        raise SetupFileError(reader.problems)
    return document


def parse_document(text: str, *, catalog: Catalog | None = None, base_dir: Path | None = None) -> SetupDocument:
    """Parse and validate the text of a set-up file; raises SetupFileError."""
    return read_document(load_yaml(text), catalog=catalog, base_dir=base_dir)


# --- entity details edited one form at a time (the console) --------------------------------

ENTITY_DETAIL_KEYS = ("address", "tax_id", "email", "phone", "iban", "bic", "payment_accounts", "remit_to",
                      "mail_from_name", "mail_from_address", "invitation_text", "return_reasons")  # fmt: skip


def read_entity_details(raw: Mapping[str, Any], *, country: str) -> dict[str, Any]:
    """Entity details in the set-up file's shape, read by the set-up file's own rules; only the keys given.

    The console's entity forms each send some of `ENTITY_DETAIL_KEYS` (an address is the whole
    mapping, region included); what a form does not send is not read and not returned, so a
    save changes only what the form shows. `country` is the entity's, for a tax id sent without
    an address. Returns Entity column values; raises SetupFileError with every problem at its
    set-up path ("address.city", "payment_accounts[1].iban").
    """
    from leadbill.domain import regions

    problems: list[Problem] = []
    f = _Fields(problems, "", dict(raw))
    out: dict[str, Any] = {}
    if "address" in raw:
        address = _address(f, country_required=True)
        country = address.country or country
        reported = any(p.path == "address.region" for p in problems)
        if regions.uses_region(country) and not address.region and not reported:  # printed on its documents
            problems.append(Problem("address.region", f"required: the {regions.REGION_COUNTRIES[country]} of a "
                                                      f"{country} address"))  # fmt: skip
        out.update(
            address_line1=address.line1, address_line2=address.line2, postal_code=address.postal_code,
            city=address.city, region=address.region, country=address.country,
        )  # fmt: skip
    readers: dict[str, Callable[[], Any]] = {
        "tax_id": lambda: f.read("tax_id", _tax_id(country), ""),
        "email": lambda: f.read("email", _email, ""),
        "phone": lambda: f.text("phone", 40),
        "iban": lambda: f.read("iban", _iban, ""),
        "bic": lambda: f.read("bic", _bic, ""),
        "payment_accounts": lambda: [dict(x) for x in _payment_accounts(f)],
        "remit_to": lambda: f.read("remit_to", _remit_to, ""),
        "mail_from_name": lambda: f.read("mail_from_name", _mail_from_name, ""),
        "mail_from_address": lambda: f.read("mail_from_address", _email, ""),
        "invitation_text": lambda: f.read("invitation_text", _invitation_text, ""),
        "return_reasons": lambda: list(_return_reasons(f)),
    }
    for key, read in readers.items():
        if key in raw:
            out[key] = read()
    f.close()
    if problems:
        raise SetupFileError(problems)
    return out
