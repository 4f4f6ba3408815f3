"""Reading delivery and return CSV rows: one function call per row, no database access.

The row parsers are the hot path of an import (a million rows is an ordinary file),
so they resolve codes through plain dicts built once per import (`Codes`), cache
parsed prices, and build the `fields` JSON text directly. Each parser turns one CSV
record into a tuple in `STAGE_COLUMNS` order or raises `DomainError(field=...)`;
the services stage the tuples and write them set-based (docs/csv-import.md).

Control characters in a row are removed, not refused (`leadbill.domain.text`): a lead's
own fields keep tab and line breaks, every other value is one line (a break becomes a
space). NUL is still refused, naming the field. The API's batches share these parsers, so
they clean the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson

from leadbill.domain.errors import DomainError
from leadbill.domain.money import KNOWN_CURRENCIES, MICROS, parse_decimal, unit_price_to_micros
from leadbill.domain.periods import MAX_YEAR, MIN_YEAR
from leadbill.domain.text import clean_text, has_unsafe

DELIVERY_COLUMNS = ("external_id", "partner", "profile", "lead_type", "lead_id", "delivered_at", "price", "currency")
DELIVERY_OPTIONAL_COLUMNS = ("source", "cost")
LEAD_FIELD_PREFIX = "lead."
RETURN_COLUMNS = ("external_id", "reason")
RETURN_OPTIONAL_COLUMNS = ("requested_at", "status")
RETURN_IMPORT_STATUSES = ("accepted", "rejected")

# The order of a staged delivery: the columns of deliveries_delivery the import writes,
# less entity_id and created_at, which are the same for the whole file.
STAGE_COLUMNS = (
    "external_id",
    "partner_id",
    "profile_id",
    "lead_type_id",
    "lead_id",
    "delivered_at",
    "price_micros",
    "currency",
    "fields",
    "source_id",
    "cost_micros",
)

MAX_MICROS = 2**63 - 1  # a BigIntegerField
MAX_KEY_LENGTH = 120  # Delivery.external_id and Delivery.lead_id
MAX_REASON_LENGTH = 200  # Return.reason

_encode_str = json.encoder.encode_basestring  # the C encoder: a JSON string literal, non-ASCII kept


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row: its line number in the file (the header is line 1), field and reason."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Codes:
    """The codes a delivery file may name, resolved to ids; built once per import.

    Partner, profile and lead-type tables are small, so a dict lookup per row beats
    any join, and an unknown code is reported by name.
    """

    partners: Mapping[str, int]  # code -> id, every partner of the entity
    buyers: frozenset[str]  # codes of the partners that buy leads
    suppliers: frozenset[str]  # codes of the partners that supply leads
    profiles: Mapping[tuple[int, str], int]  # (partner id, profile code) -> id
    profile_codes: frozenset[str]  # every profile code, to tell "of another partner" from "unknown"
    lead_types: Mapping[str, int]  # code -> id


@dataclass(slots=True)
class DeliveryRow:
    """A parsed delivery, for the single-record service (`delivery_record_row`)."""

    values: tuple[Any, ...]  # STAGE_COLUMNS order; delivered_at an aware datetime

    def as_model_kwargs(self) -> dict[str, Any]:
        kwargs = dict(zip(STAGE_COLUMNS, self.values, strict=True))
        kwargs["fields"] = json.loads(kwargs["fields"])
        return kwargs


def check_header(header: Sequence[str], required: Sequence[str], optional: Sequence[str], *, lead_fields: bool) -> None:
    """Refuse a file whose header misses a column, repeats one, or has one we do not know."""
    names = [name.strip() for name in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise DomainError(f"missing column(s): {', '.join(missing)}", field="header")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DomainError(f"column {name!r} appears twice", field="header")
        seen.add(name)
        if name in required or name in optional:
            continue
        if lead_fields and name.startswith(LEAD_FIELD_PREFIX) and len(name) > len(LEAD_FIELD_PREFIX):
            continue
        hint = f" (a lead's own fields go in {LEAD_FIELD_PREFIX}<name> columns)" if lead_fields else ""
        raise DomainError(f"unknown column {name!r}{hint}", field="header")


def parse_timestamp(text: str, *, field: str) -> datetime:
    """An ISO 8601 date-time with its offset (or Z); a naive time has no place in time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(f"not an ISO 8601 date-time: {text!r}", field=field) from None
    if value.tzinfo is None:
        raise DomainError(f"no time-zone offset in {text!r}", field=field)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise DomainError(f"{text!r} is outside the years {MIN_YEAR} to {MAX_YEAR}", field=field)
    return value


def parse_micros(text: str | Decimal, *, field: str) -> int:
    """An exact, non-negative decimal with at most six decimals, as integer micro-units."""
    price = parse_decimal(text, field=field)
    if price * MICROS > MAX_MICROS:  # before the conversion builds the integer
        raise DomainError(f"{text} is too large", field=field)
    micros = unit_price_to_micros(price, field=field)
    if micros < 0:
        raise DomainError(f"{text} is negative", field=field)
    return micros


def sqlite_timestamp(value: datetime) -> str:
    """The text Django stores for an aware datetime on SQLite (naive UTC, space-separated)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _refuse_nul(record: Sequence[str], names: Sequence[str]) -> None:
    """A NUL character: no text column of either database can store it."""
    name = next(n for n, value in zip(names, record, strict=True) if "\x00" in value)
    field = name.removeprefix(LEAD_FIELD_PREFIX) if name.startswith(LEAD_FIELD_PREFIX) else name
    raise DomainError("contains a NUL character (\\u0000)", field="fields" if field != name else name)


def _cleaned(record: Sequence[str], names: Sequence[str]) -> list[str]:
    """The values of a row with their control characters removed (`domain.text.clean_text`); NUL refused."""
    if any("\x00" in value for value in record):
        _refuse_nul(record, names)
    return [
        clean_text(value, multiline=name.startswith(LEAD_FIELD_PREFIX))
        for name, value in zip(names, record, strict=True)
    ]


def _checked_key(text: str, field: str) -> str:
    if not text:
        raise DomainError("is empty", field=field)
    if len(text) > MAX_KEY_LENGTH:
        raise DomainError(f"longer than {MAX_KEY_LENGTH} characters", field=field)
    return text


class DeliveryRowParser:
    """Parses the records of one delivery file, whose header it is built with.

    `parse(record)` returns a tuple in STAGE_COLUMNS order, or raises DomainError
    naming the field. `delivered_at` comes back as an aware datetime, or as text in
    Django's SQLite format when `timestamp` says so.
    """

    def __init__(
        self,
        header: Sequence[str],
        codes: Codes,
        *,
        timestamp: Callable[[datetime], Any] | None = None,
    ) -> None:
        check_header(header, DELIVERY_COLUMNS, DELIVERY_OPTIONAL_COLUMNS, lead_fields=True)
        names = [name.strip() for name in header]
        self._names = names
        self.width = len(names)
        self.codes = codes
        # One C call picks the columns of a record, in this order, wherever they are.
        self._pick = itemgetter(*(names.index(name) for name in DELIVERY_COLUMNS))
        self._source = names.index("source") if "source" in names else None
        self._cost = names.index("cost") if "cost" in names else None
        self._lead_fields = [
            (i, _encode_str(name[len(LEAD_FIELD_PREFIX) :]) + ":")
            for i, name in enumerate(names)
            if name.startswith(LEAD_FIELD_PREFIX)
        ]
        self._timestamp = timestamp
        # The fast paths look the value up as it is; the slow paths trim it, retry and
        # explain a refusal. Buyers only, so that a supplier's code takes the slow path.
        self._buyers = {code: pk for code, pk in codes.partners.items() if code in codes.buyers}
        self._suppliers = {code: pk for code, pk in codes.partners.items() if code in codes.suppliers}
        self._micros: dict[str, int | None] = {"": None}  # files repeat a handful of prices

    def _buyer_id(self, text: str) -> int:
        code = text.strip()
        if code in self._buyers:
            return self._buyers[code]
        if code in self.codes.partners:
            raise DomainError(f"partner {code!r} is not a buyer", field="partner")
        raise DomainError(f"unknown partner {code!r}", field="partner")

    def _profile_id(self, partner_id: int, partner_text: str, text: str) -> int | None:
        code = text.strip()
        if not code:
            return None
        profile_id = self.codes.profiles.get((partner_id, code))
        if profile_id is not None:
            return profile_id
        partner = partner_text.strip()
        if code in self.codes.profile_codes:
            raise DomainError(f"profile {code!r} belongs to another partner than {partner!r}", field="profile")
        raise DomainError(f"unknown profile {code!r} of partner {partner!r}", field="profile")

    def _lead_type_id(self, text: str) -> int:
        code = text.strip()
        if code in self.codes.lead_types:
            return self.codes.lead_types[code]
        raise DomainError(f"unknown lead type {code!r}", field="lead_type")

    def _supplier_id(self, text: str) -> int | None:
        code = text.strip()
        if not code:
            return None
        if code not in self.codes.partners:
            raise DomainError(f"unknown partner {code!r}", field="source")
        if code not in self.codes.suppliers:
            raise DomainError(f"partner {code!r} is not a supplier", field="source")
        return self.codes.partners[code]

    def _money(self, text: str, field: str) -> int | None:
        stripped = text.strip()
        micros = parse_micros(stripped, field=field) if stripped else None
        self._micros[text] = micros
        return micros

    @staticmethod
    def _currency(text: str) -> str:
        code = text.strip()
        if code in KNOWN_CURRENCIES:
            return code
        raise DomainError(f"unknown currency {code!r} (expected an ISO 4217 code such as EUR)", field="currency")

    def _fields(self, record: Sequence[str]) -> str:
        parts = [key + _encode_str(record[i]) for i, key in self._lead_fields if record[i]]
        return "{" + ",".join(parts) + "}" if parts else "{}"

    def parse(self, record: Sequence[str]) -> tuple[Any, ...]:
        if len(record) != self.width:
            raise DomainError(f"has {len(record)} values, the header has {self.width} columns", field="row")
        if has_unsafe("".join(record)):  # rare: one scan of the whole row finds it
            record = _cleaned(record, self._names)
        external_id, partner, profile, lead_type, lead_id, delivered, price, currency = self._pick(record)
        external_id = _checked_key(external_id.strip(), "external_id")
        partner_id = self._buyers.get(partner) or self._buyer_id(partner)
        profile_id = self.codes.profiles.get((partner_id, profile)) if profile else None
        if profile_id is None and profile:
            profile_id = self._profile_id(partner_id, partner, profile)
        lead_type_id = self.codes.lead_types.get(lead_type) or self._lead_type_id(lead_type)
        lead_id = _checked_key(lead_id.strip(), "lead_id")
        delivered_at: Any = parse_timestamp(delivered.strip(), field="delivered_at")
        if self._timestamp is not None:
            delivered_at = self._timestamp(delivered_at)
        price_micros = self._micros[price] if price in self._micros else self._money(price, "price")
        if currency not in KNOWN_CURRENCIES:
            currency = self._currency(currency)
        source_id = cost_micros = None
        if self._source is not None and (source := record[self._source]):
            source_id = self._suppliers.get(source) or self._supplier_id(source)
        if self._cost is not None:
            cost = record[self._cost]
            cost_micros = self._micros[cost] if cost in self._micros else self._money(cost, "cost")
        return (
            external_id,
            partner_id,
            profile_id,
            lead_type_id,
            lead_id,
            delivered_at,
            price_micros,
            currency,
            self._fields(record) if self._lead_fields else "{}",
            source_id,
            cost_micros,
        )


MAPPING_COLUMNS = (*DELIVERY_COLUMNS, *DELIVERY_OPTIONAL_COLUMNS)
_MAPPING_KEYS = frozenset((*MAPPING_COLUMNS, "fields"))
_MONEY_KEYS = frozenset(("price", "cost"))


class DeliveryMappingParser:
    """Parses deliveries given as mappings: the API's JSON objects, Python callers' keywords.

    The values go through the CSV row parser, so every way in refuses the same things
    with the same words. `strict` (JSON) wants text for every value and refuses numbers
    for money, which a JSON parser would have turned into binary floats; without it,
    datetimes, Decimals and objects with a `code` are accepted too. A lead's own fields
    come as a `fields` object of text, numbers or booleans (nothing nested).
    """

    def __init__(self, codes: Codes, *, timestamp: Callable[[datetime], Any] | None = None, strict: bool = True):
        self._row = DeliveryRowParser(MAPPING_COLUMNS, codes, timestamp=timestamp)
        self._strict = strict

    def _text(self, name: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, float) and not self._strict:
            raise DomainError("give an exact decimal string, not a float", field=name)
        if name in _MONEY_KEYS and isinstance(value, float | int | Decimal) and not isinstance(value, bool):
            raise DomainError(f'give {name} as a decimal string such as "2.50", not a JSON number', field=name)
        if self._strict or isinstance(value, bool):
            raise DomainError(f"expected a string, got {_json_kind(value)}", field=name)
        if isinstance(value, datetime):
            return value.isoformat()
        return str(getattr(value, "code", value))  # a Decimal, or a Partner, Profile or LeadType by its code

    def parse(self, row: Any) -> tuple[Any, ...]:
        # The hot path of an API batch: a dict of text values (checked by class, in C
        # where possible); anything else takes `_text`, which converts or explains.
        if row.__class__ is not dict and not isinstance(row, Mapping):
            raise DomainError(f"each delivery is an object, got {_json_kind(row)}", field="row")
        if not row.keys() <= _MAPPING_KEYS:
            unknown = sorted(str(key) for key in row if key not in _MAPPING_KEYS)
            raise DomainError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
        get = row.get
        record = []
        for name in MAPPING_COLUMNS:
            value = get(name)
            record.append(value if value.__class__ is str else self._text(name, value))
        values = self._row.parse(record)
        lead_fields = get("fields")
        if lead_fields:
            values = (*values[:8], _fields_json(lead_fields), *values[9:])
        return values


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


_PLAIN_VALUES = frozenset((str, int, float))


def _strings(lead_fields: dict[Any, Any]) -> list[str]:
    return [v for v in lead_fields.values() if v.__class__ is str]


def _fields_json(lead_fields: Any) -> str:
    """A lead's own fields as the JSON text the table stores: {name: scalar}; nothing nested."""
    if (
        lead_fields.__class__ is dict
        and all(v.__class__ in _PLAIN_VALUES for v in lead_fields.values())
        and all(k.__class__ is str and 0 < len(k) <= 100 for k in lead_fields)
    ):
        try:
            text = orjson.dumps(lead_fields).decode()  # the common case, 10x quicker than json.dumps
        except TypeError:  # an integer beyond 64 bits: the slow path below
            pass
        else:
            if not has_unsafe("".join((*lead_fields, *_strings(lead_fields)))):
                return text
    if not isinstance(lead_fields, Mapping):
        raise DomainError(f"fields must be an object, got {_json_kind(lead_fields)}", field="fields")
    texts: dict[str, Any] = {}
    for name, value in lead_fields.items():
        if not isinstance(name, str) or not name or len(name) > 100 or "\x00" in name:
            raise DomainError("field names are text of 1 to 100 characters", field="fields")
        if value is None:
            continue
        if isinstance(value, str) and "\x00" in value:
            raise DomainError(f"fields.{name} contains a NUL character (\\u0000)", field="fields")
        name = clean_text(name)
        if not name:
            raise DomainError("field names are text of 1 to 100 characters", field="fields")
        if isinstance(value, str):
            value = clean_text(value, multiline=True)
        if isinstance(value, str | int | float):
            texts[name] = value
        elif isinstance(value, Decimal):
            texts[name] = str(value)
        else:
            raise DomainError(f"fields.{name} must be text, a number or a boolean", field="fields")
    return json.dumps(texts, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ReturnRow:
    external_id: str
    reason: str
    requested_at: datetime | None
    status: str | None  # None: a request; "accepted"/"rejected": a decision made elsewhere


class ReturnRowParser:
    def __init__(self, header: Sequence[str]) -> None:
        check_header(header, RETURN_COLUMNS, RETURN_OPTIONAL_COLUMNS, lead_fields=False)
        names = [name.strip() for name in header]
        self.width = len(names)
        self._index = {name: names.index(name) for name in names}

    def parse(self, record: Sequence[str]) -> ReturnRow:
        if len(record) != self.width:
            raise DomainError(f"has {len(record)} values, the header has {self.width} columns", field="row")
        ix = self._index
        if has_unsafe("".join(record)):
            for name, i in ix.items():
                if "\x00" in record[i]:
                    raise DomainError("contains a NUL character (\\u0000)", field=name)
            record = [clean_text(value) for value in record]
        external_id = _checked_key(record[ix["external_id"]].strip(), "external_id")
        reason = record[ix["reason"]].strip()
        if not reason:
            raise DomainError("give the reason of the return", field="reason")
        if len(reason) > MAX_REASON_LENGTH:
            raise DomainError(f"longer than {MAX_REASON_LENGTH} characters", field="reason")
        requested_at = None
        if "requested_at" in ix and (text := record[ix["requested_at"]].strip()):
            requested_at = parse_timestamp(text, field="requested_at")
        status = None
        if "status" in ix and (text := record[ix["status"]].strip().lower()):
            if text not in RETURN_IMPORT_STATUSES:
                raise DomainError(f"status {text!r} is not one of accepted, rejected (or empty)", field="status")
            status = text
        return ReturnRow(external_id, reason, requested_at, status)


class ReturnMappingParser:
    """Parses returns given as JSON objects {external_id, reason, requested_at?, status?}."""

    _columns = (*RETURN_COLUMNS, *RETURN_OPTIONAL_COLUMNS)

    def __init__(self) -> None:
        self._row = ReturnRowParser(self._columns)

    def parse(self, row: Any) -> ReturnRow:
        if not isinstance(row, Mapping):
            raise DomainError(f"each return is an object, got {_json_kind(row)}", field="row")
        unknown = sorted(str(key) for key in row if key not in self._columns)
        if unknown:
            raise DomainError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
        record = []
        for name in self._columns:
            value = row.get(name)
            if value is not None and not isinstance(value, str):
                raise DomainError(f"expected a string, got {_json_kind(value)}", field=name)
            record.append(value or "")
        return self._row.parse(record)
