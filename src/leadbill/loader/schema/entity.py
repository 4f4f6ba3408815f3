"""The `entities:` section: an entity's own details, its payment accounts, return reasons and lead types,
and the same details edited one console form at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from leadbill.domain.errors import DomainError
from leadbill.domain.identifiers import aba_routing, account_number
from leadbill.domain.money import check_currency
from leadbill.domain.periods import zone
from leadbill.loader.schema.books import read_books
from leadbill.loader.schema.problems import CREDIT_ON_ACCOUNT, Problem, SetupFileError
from leadbill.loader.schema.specs import EntitySpec, LeadTypeSpec, PartnerSpec
from leadbill.loader.schema.values import (
    _LOCALE,
    _REQUIRED,
    _SLUG,
    _address,
    _bic,
    _boolean,
    _choice,
    _email,
    _Fields,
    _iban,
    _integer,
    _peppol_id,
    _safety_bounds,
    _slug,
    _tax_id,
    _tax_rate_bp,
    _text,
    _unique,
    _zone_name,
)

if TYPE_CHECKING:
    from leadbill.loader.schema.document import _Reader

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


def read_entity(reader: _Reader, path: str, raw: Any) -> EntitySpec | None:
    f = _Fields(reader.problems, path, raw)
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
    logo = f.read("logo", reader._logo, None)
    mail_from_name = f.read("mail_from_name", _mail_from_name, "")
    mail_from_address = f.read("mail_from_address", _email, "")
    invitation_text = f.read("invitation_text", _invitation_text, "")
    return_reasons = _return_reasons(f)
    issue_and_send = f.read("issue_and_send", _boolean, None)
    credit_on_account = f.read("credit_on_account", _choice(CREDIT_ON_ACCOUNT), None)
    safety_bounds = _safety_bounds(f, currency)

    lead_types: list[LeadTypeSpec] = []
    seen: dict[Any, str] = {}
    for item_path, item in f.items("lead_types"):
        lt = _Fields(reader.problems, item_path, item)
        if not lt.ok:
            continue
        spec = LeadTypeSpec(item_path, lt.read("code", _slug), lt.text("name", 200, _REQUIRED))
        lt.close()
        _unique(reader.problems, seen, spec.code, f"{item_path}.code", f"lead type {spec.code!r}")
        lead_types.append(spec)
    lead_type_codes = {lt.code for lt in lead_types}
    books = None
    if f.has("books"):
        books_fields = f.mapping("books")
        books = read_books(
            books_fields,
            currency=currency,
            has_lead_type=lambda c: c in lead_type_codes or reader.catalog.has_lead_type(slug or "", c),
        )
        books_fields.close()
    else:
        f.take("books")

    tz = zone(timezone) if timezone else None
    partners: list[PartnerSpec] = []
    seen = {}
    for item_path, item in f.items("partners"):
        partner = reader.partner(item_path, item, entity=slug, currency=currency, tz=tz, lead_types=lead_type_codes)
        if partner is not None:
            _unique(reader.problems, seen, partner.code, f"{item_path}.code", f"partner {partner.code!r}")
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
        credit_on_account=credit_on_account,
        safety_bounds=safety_bounds,
        books=books,
    )


# --- entity details edited one form at a time (the console) --------------------------------

ENTITY_DETAIL_KEYS = ("address", "tax_id", "email", "phone", "iban", "bic", "payment_accounts", "remit_to",
                      "mail_from_name", "mail_from_address", "invitation_text", "return_reasons",
                      "credit_on_account")  # fmt: skip


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
        "credit_on_account": lambda: f.read("credit_on_account", _choice(CREDIT_ON_ACCOUNT)),  # sent: never blank
    }
    for key, read in readers.items():
        if key in raw:
            out[key] = read()
    f.close()
    if problems:
        raise SetupFileError(problems)
    return out
