"""Peppol participant ids (EN 16931 BT-34/BT-49 electronic addresses).

Peppol BIS Billing 3.0 requires both parties' electronic address with a scheme from the
EAS code list (rule PEPPOL-EN16931-R010/R020, code list check on @schemeID). When a
partner gives none, a VAT number is itself a valid address in the countries that have a
VAT-based EAS scheme.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from leadbill.domain.errors import DomainError
from leadbill.domain.identifiers import VAT_PREFIXES, vat_number
from leadbill.domain.numbers import digit_string

# EAS codes accepted by Peppol BIS Billing 3.0.21 (the rule file's list).
EAS_CODES = frozenset(
    [
        "0002",
        "0007",
        "0009",
        "0060",
        "0088",
        "0096",
        "0097",
        "0106",
        "0130",
        "0135",
        "0142",
        "0151",
        "0183",
        "0184",
        "0188",
        "0190",
        "0191",
        "0192",
        "0195",
        "0196",
        "0198",
        "0199",
        "0200",
        "0201",
        "0204",
        "0208",
        "0209",
        "0210",
        "0211",
        "0216",
        "0218",
        "0221",
        "0225",
        "0230",
        "0235",
        "0240",
        "0242",
        "0244",
        "0245",
        "0246",
        "0248",
        "9910",
        "9913",
        "9914",
        "9915",
        "9918",
        "9919",
        "9920",
        "9922",
        "9923",
        "9924",
        "9925",
        "9926",
        "9927",
        "9928",
        "9929",
        "9930",
        "9931",
        "9932",
        "9933",
        "9934",
        "9935",
        "9936",
        "9937",
        "9938",
        "9939",
        "9940",
        "9941",
        "9942",
        "9943",
        "9944",
        "9945",
        "9946",
        "9947",
        "9948",
        "9949",
        "9950",
        "9951",
        "9952",
        "9953",
        "9957",
        "9959",
    ]
)

# Country → EAS scheme whose identifier is the VAT number (with its prefix).
VAT_SCHEMES = {
    "AD": "9922", "AL": "9923", "BA": "9924", "BE": "9925", "BG": "9926", "CH": "9927", "CY": "9928",
    "CZ": "9929", "DE": "9930", "EE": "9931", "GB": "9932", "GR": "9933", "HR": "9934", "IE": "9935",
    "LI": "9936", "LT": "9937", "LU": "9938", "LV": "9939", "MC": "9940", "ME": "9941", "MK": "9942",
    "MT": "9943", "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947", "RS": "9948", "SI": "9949",
    "SK": "9950", "SM": "9951", "TR": "9952", "VA": "9953", "FR": "9957", "AT": "9914", "HU": "9910",
    "ES": "9920",
}  # fmt: skip

_VAT_SCHEME_COUNTRY = {scheme: country for country, scheme in VAT_SCHEMES.items()}

_ID = re.compile(r"(\d{4}):([A-Za-z0-9][A-Za-z0-9.:_\-]{0,99})")


# EAS schemes whose identifiers have rules python-stdnum knows: (what it is, stdnum module).
STDNUM_SCHEMES = {
    "0002": ("a French SIREN", "stdnum.fr.siren"),
    "0007": ("a Swedish organisation number", "stdnum.se.orgnr"),
    "0009": ("a French SIRET", "stdnum.fr.siret"),
    "0088": ("a GLN (13 digits)", "stdnum.ean"),
    "0151": ("an Australian ABN", "stdnum.au.abn"),
    "0184": ("a Danish CVR number", "stdnum.dk.cvr"),
    "0192": ("a Norwegian organisation number", "stdnum.no.orgnr"),
    "0196": ("an Icelandic kennitala", "stdnum.is_.kennitala"),
    "0204": ("a German Leitweg-ID", "stdnum.de.leitweg"),
    "0208": ("a Belgian enterprise number", "stdnum.be.vat"),
    "0210": ("an Italian codice fiscale", "stdnum.it.codicefiscale"),
    "0211": ("an Italian partita IVA", "stdnum.it.iva"),
    "9959": ("a US EIN", "stdnum.us.ein"),
}
# EAS schemes that are only a number of fixed length.
DIGIT_SCHEMES = {"0060": 9, "0106": 8, "0190": 20}


def check_participant_id(text: str, *, field: str = "peppol_id") -> str:
    """'scheme:identifier' with a Peppol EAS scheme and an identifier valid in it; '' stays ''.

    Where the scheme is a national number python-stdnum knows (VAT numbers in the 99xx
    schemes, GLN, SIRET, EIN, …), its format and check digits are checked too: an access
    point refuses a participant that cannot exist.
    """
    text = text.strip()
    if not text:
        return ""
    match = _ID.fullmatch(text)
    if not match:
        raise DomainError(f"expected 'scheme:identifier' such as 0088:5790000435968, got {text!r}", field=field)
    scheme, identifier = match.groups()
    if scheme not in EAS_CODES:
        raise DomainError(f"{scheme} is not a Peppol EAS scheme", field=field)
    problem = _identifier_problem(scheme, identifier)
    if problem:
        raise DomainError(f"{scheme}:{identifier} is not {problem}", field=field)
    return text


def _identifier_problem(scheme: str, identifier: str) -> str:
    """What the identifier should be in its scheme when it is not, else ''."""
    country = _VAT_SCHEME_COUNTRY.get(scheme)
    if country and country in VAT_PREFIXES:
        try:
            vat_number(identifier, country)
        except DomainError:
            return f"a valid VAT number of {country} ({VAT_PREFIXES[country]}…)"
        return ""
    if scheme in DIGIT_SCHEMES:
        width = DIGIT_SCHEMES[scheme]
        digits = digit_string(identifier, max_digits=width)
        return "" if digits == identifier and len(identifier) == width else f"{width} digits"
    if scheme in STDNUM_SCHEMES:
        what, module_name = STDNUM_SCHEMES[scheme]
        is_valid: Callable[[str], bool] = importlib.import_module(module_name).is_valid
        ok = is_valid(identifier) and (scheme != "0088" or len(identifier) == 13)
        return "" if ok else what
    return ""


def participant_id(explicit: str, *, country: str, vat_id: str) -> str:
    """The party's electronic address: the one given, else one derived from its VAT number."""
    if explicit:
        return explicit
    scheme = VAT_SCHEMES.get(country)
    return f"{scheme}:{vat_id}" if scheme and vat_id else ""
