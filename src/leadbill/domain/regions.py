"""State, province or territory of an address, where the country's postal address has one.

Why a fixed list: a US, Canadian or Australian address is not deliverable, and an invoice
to it not complete, without its state or province ("New York, NY 10001"; "Toronto ON
M5V 2T6"; "Sydney NSW 2000"), and their postal services print it as a short code. These
countries' codes are ISO 3166-2 (pycountry, pinned), read without the country prefix:
"NY", "ON", "NSW". A full name ("New York", "ontario") is accepted and stored as its code.

Every other country keeps its region optional free text (a Brazilian "SP", a German
"Bayern"): EN 16931 BT-39/BT-54 takes any text, and nothing here could check it.
"""

from __future__ import annotations

from functools import cache

import pycountry

from leadbill.domain.errors import DomainError
from leadbill.domain.text import field_text

# Countries whose postal address needs a state, province or territory, by its ISO 3166-2 code.
REGION_COUNTRIES: dict[str, str] = {"US": "state", "CA": "province or territory", "AU": "state or territory"}
MAX_LENGTH = 100


def uses_region(country: str) -> bool:
    """The country's addresses need a region (and take only its codes)."""
    return country.upper() in REGION_COUNTRIES


@cache
def codes(country: str) -> dict[str, str]:
    """The country's region codes (without the country prefix) and their names, e.g. {"NY": "New York"}."""
    found = pycountry.subdivisions.get(country_code=country.upper()) or []  # type: ignore[no-untyped-call]
    return {str(s.code).split("-", 1)[1]: str(s.name) for s in found}


@cache
def _by_name(country: str) -> dict[str, str]:
    return {name.casefold(): code for code, name in codes(country).items()}


def region(value: str, country: str, *, field: str = "region", required: bool = False) -> str:
    """`value` checked as the region of an address in `country`; returns what to store.

    In a country of `REGION_COUNTRIES` the result is the code ("ny" and "New York" give
    "NY"), and `required` refuses an empty one; elsewhere it is the text as typed.
    """
    text = field_text(value, field=field, max_length=MAX_LENGTH).strip()
    country = country.upper()
    if not uses_region(country):
        return text
    what = REGION_COUNTRIES[country]
    if not text:
        if required:
            raise DomainError(f"give the {what} of a {country} address, e.g. {_example(country)}", field=field)
        return ""
    known = codes(country)
    code = text.upper().removeprefix(f"{country}-")
    if code in known:
        return code
    by_name = _by_name(country).get(" ".join(text.split()).casefold())
    if by_name is not None:
        return by_name
    raise DomainError(
        f"{text!r} is not a {country} {what}: give its code or name, e.g. {_example(country)}",
        field=field,
    )


def _example(country: str) -> str:
    return {"US": "NY", "CA": "ON", "AU": "NSW"}[country]


def region_name(code: str, country: str) -> str:
    """The region's name for a code ("NY" → "New York"), or the code when unknown."""
    return codes(country).get(code.upper(), code) if uses_region(country) else code
