"""Tax ids, IBANs and BICs, checked where they enter, by each country's own rules.

Why here: an e-invoice with a malformed VAT number is rejected by its receiver's access
point, and a payment to a mistyped IBAN goes nowhere. So a wrong identifier is refused when
it is typed (form, API, set-up file, portal), naming the field, never when a document is
sent. The rules are python-stdnum's (format and check digits per country) and schwifty's
(IBAN length, structure and check digits per country; BIC structure and country), not ours.

A tax id is read like this:
- starting with the country's VAT prefix (EL for Greece, XI allowed for GB), it is a VAT
  number and must pass that country's VAT rules; another country's prefix is refused;
- otherwise it must pass one of the country's tax-number rules that stdnum knows (the VAT
  number without prefix, a US EIN or TIN, a German Steuernummer, a French SIREN, …);
- a country stdnum has no tax-number rules for keeps what was typed (text rules still apply).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.exceptions import ValidationError
from stdnum.us import rtn
from stdnum.util import clean, get_cc_module

from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import digit_string
from leadbill.domain.tax import VAT_PREFIX_COUNTRIES

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule

# Countries whose tax ids are VAT numbers with a country prefix, and that prefix (EL for Greece).
VAT_PREFIXES = {country: "EL" if country == "GR" else country for country in sorted(VAT_PREFIX_COUNTRIES)}
# stdnum's VAT module for a prefix, where the country package is not named by it.
_VAT_COUNTRY = {"EL": "gr", "XI": "gb"}
# stdnum module names that are tax or business registration numbers (tried in this order).
TAX_NUMBER_KINDS = (
    "vat", "ein", "tin", "stnr", "siren", "siret", "nif", "cif", "utr", "uid", "bn", "abn", "tfn", "rfc",
    "orgnr", "mva", "cvr", "cn", "cuit", "rut", "nit", "ruc", "gstin", "pan", "cnpj", "cpf", "ird", "vsk",
    "ytunnus", "kmkr", "pvm", "pvn", "dic", "ico", "oib", "pib", "iva", "btw", "ust", "nip", "regon",
)  # fmt: skip
MAX_LENGTH = 40


def tax_id(value: str, country: str) -> str:
    """`value` checked as a tax id of `country` (ISO 3166-1 alpha-2); '' stays ''.

    A VAT number is returned compact with its prefix (DE136695976); other tax numbers as
    typed, trimmed, since their usual spelling (12-3456789) is what documents print.
    """
    text = value.strip()
    if not text:
        return ""
    if len(text) > MAX_LENGTH:
        raise DomainError(f"at most {MAX_LENGTH} characters")
    country = country.upper()
    compact = "".join(c for c in text.upper() if c.isalnum())
    if not country and compact[:2] in VAT_PREFIXES.values():  # no country given: its prefix tells
        return _vat_number(compact[:2], text)
    own_prefix = VAT_PREFIXES.get(country)
    if own_prefix and compact[:2].isalpha():
        prefix = compact[:2]
        allowed = {own_prefix, "XI"} if country == "GB" else {own_prefix}
        if prefix not in allowed:
            raise DomainError(f"a VAT number of {country} starts with {own_prefix}, got {text!r}")
        return _vat_number(prefix, text)
    kinds = _tax_modules(country)
    if not kinds:
        return text
    for _, module in kinds:
        if module.is_valid(text):
            return text
    names = ", ".join(dict.fromkeys(_kind_name(kind, country) for kind, _ in kinds))
    raise DomainError(f"not a valid tax id for {country} (checked as {names}): {text!r}")


def vat_number(value: str, country: str) -> str:
    """`value` checked as a VAT number of `country`, with its prefix (Peppol's 99xx schemes)."""
    text = value.strip()
    prefix = VAT_PREFIXES.get(country.upper())
    if prefix is None:
        raise DomainError(f"{country} has no VAT numbers with a country prefix")
    if not "".join(c for c in text.upper() if c.isalnum()).startswith(prefix):
        raise DomainError(f"a VAT number of {country} starts with {prefix}, got {text!r}")
    return _vat_number(prefix, text)


def _vat_number(prefix: str, text: str) -> str:
    module = get_cc_module(_VAT_COUNTRY.get(prefix, prefix.lower()), "vat")
    if module is None:  # a prefix stdnum has no rules for (LI): the shape only
        compact = "".join(c for c in text.upper() if c.isalnum())
        if not 5 <= len(compact) <= 16:
            raise DomainError(f"not a VAT number: {text!r}")
        return compact
    try:
        number = str(module.validate(text))
    except ValidationError as exc:
        raise DomainError(f"not a valid {prefix} VAT number ({_reason(exc)}): {text!r}") from None
    return number if number.startswith(prefix) else prefix + number


def _tax_modules(country: str) -> list[tuple[str, NumberValidationModule]]:
    """stdnum's tax-number modules for `country`, in TAX_NUMBER_KINDS order."""
    if not (len(country) == 2 and country.isalpha()):
        return []
    try:
        importlib.import_module(f"stdnum.{country.lower()}")
    except ImportError:
        try:
            importlib.import_module(f"stdnum.{country.lower()}_")  # is_, in_: Python keywords
        except ImportError:
            return []
    found: list[tuple[str, NumberValidationModule]] = []
    for kind in TAX_NUMBER_KINDS:
        module = get_cc_module(country.lower(), kind)
        if module is not None and all(module is not m for _, m in found):
            found.append((kind, module))
    return found


def _kind_name(kind: str, country: str) -> str:
    return {"vat": "VAT number", "ein": "EIN", "tin": "TIN"}.get(kind, kind.upper())


def _reason(exc: ValidationError) -> str:
    return {
        "InvalidChecksum": "check digit does not match",
        "InvalidLength": "wrong length",
        "InvalidFormat": "wrong format",
        "InvalidComponent": "a part of it is not valid",
    }.get(type(exc).__name__, str(exc).rstrip("."))


def iban(value: str) -> str:
    """`value` checked as an IBAN (country, length, structure, check digits); compact, '' stays ''."""
    text = value.strip()
    if not text:
        return ""
    if len(text) > 60:
        raise DomainError("not an IBAN: at most 34 letters and digits")
    try:
        return str(IBAN(text).compact)
    except SchwiftyException as exc:
        raise DomainError(f"not a valid IBAN ({str(exc).rstrip('.')})") from None


def bic(value: str) -> str:
    """`value` checked as a BIC (8 or 11 characters, a real country code); compact, '' stays ''."""
    text = value.strip()
    if not text:
        return ""
    if len(text) > 20:
        raise DomainError("a BIC of 8 or 11 characters, e.g. DEUTDEFF")
    try:
        return str(BIC(text).compact)
    except SchwiftyException as exc:
        raise DomainError(f"not a valid BIC ({str(exc).rstrip('.')}), e.g. DEUTDEFF") from None


ACCOUNT_NUMBER_DIGITS = (4, 17)  # a US bank account number: NACHA's DFI account field holds 17
BANK_NUMBER_TYPED_MAX = 40  # what a typed routing or account number may be before compacting: digits and gaps


def _compact_bank_number(text: str) -> str:
    """A routing or account number as printed or typed ("021-000-021", "0110 0001 5") without its gaps.

    stdnum's `clean` also turns Unicode dashes and spaces (what a copy from a PDF or web page brings)
    into ASCII ones first; what is left must then be ASCII digits, which the callers check.
    """
    return clean(text, " -").strip()


def aba_routing(value: str) -> str:
    """`value` checked as an ABA routing number (9 digits, check digit; python-stdnum); compact, '' stays ''.

    Spaces and dashes people type to group the digits are dropped first, as for an IBAN.
    """
    text = value.strip()
    if not text:
        return ""
    if len(text) > BANK_NUMBER_TYPED_MAX:
        raise DomainError("an ABA routing number has 9 digits, e.g. 021000021")
    compact = _compact_bank_number(text)
    try:
        return str(rtn.validate(compact))
    except ValidationError:
        raise DomainError(f"not a valid ABA routing number (9 digits with a check digit): {text!r}") from None


def account_number(value: str) -> str:
    """`value` checked as a bank account number: 4 to 17 ASCII digits once spaces and dashes are dropped
    (leading zeros kept); compact, '' stays ''."""
    text = value.strip()
    if not text:
        return ""
    low, high = ACCOUNT_NUMBER_DIGITS
    compact = _compact_bank_number(text) if len(text) <= BANK_NUMBER_TYPED_MAX else text
    if digit_string(compact, max_digits=len(compact)) != compact:
        raise DomainError("an account number is digits (spaces and dashes between them are dropped)")
    if not low <= len(compact) <= high:
        raise DomainError(f"an account number has {low} to {high} digits, got {len(compact)}")
    return compact
