"""Self-billing rules: when a self-invoice may be made, and what is on it.

Self-billing (the buyer issuing the supplier's invoice) is lawful only with the supplier's
prior agreement, the supplier's own details and number sequence, and the mention
"Self-billing" (EU VAT Directive art. 224 and 226(10a)). These functions decide, from
explicit facts, whether a ready payout gets a self-invoice, and say why not otherwise:
the payout shows that reason and the partner may upload its own invoice instead.

Tax is the supplier's: its optional rate is added on top of the payout's net amount,
per rate on the sum of lines (EN 16931 BR-CO-17, `domain.tax.tax_subtotals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from leadbill.domain.errors import DomainError
from leadbill.domain.money import parse_decimal
from leadbill.domain.numbers import whole_number
from leadbill.domain.regions import REGION_COUNTRIES, uses_region
from leadbill.domain.tax import TaxSubtotal, check_rate, tax_subtotals

# The seller details a self-invoice cannot be issued without (EN 16931 BR-06, BR-08, BR-09,
# and a tax id so the invoice names whom it is from for VAT: BR-CO-26 / BR-S-02).
REQUIRED_DETAILS: tuple[tuple[str, str], ...] = (
    ("legal_name", "legal name"),
    ("address_line1", "street address"),
    ("postal_code", "postal code"),
    ("city", "city"),
    ("country", "country"),
    ("tax_id", "tax id"),
)

# Which half of a payout a document covers, and the documents that reverse them.
INVOICE = "invoice"  # the payout's charges: type 389
CREDIT = "credit"  # deductions for returned leads paid out before: type 261
INVOICE_REVERSAL = "invoice_reversal"  # a cancelled payout's self-invoice, reversed: type 261
CREDIT_REVERSAL = "credit_reversal"  # a cancelled payout's credit note, reversed: type 389
ROLES = (INVOICE, CREDIT, INVOICE_REVERSAL, CREDIT_REVERSAL)
REVERSAL_OF = {INVOICE: INVOICE_REVERSAL, CREDIT: CREDIT_REVERSAL}
CREDIT_ROLES = frozenset({CREDIT, INVOICE_REVERSAL})
ORIGINAL_ROLES = (INVOICE, CREDIT)  # what the supplier accepts or disputes; a reversal is not asked for

# The supplier's acceptance of each self-billed document (EU VAT Directive art. 224: "a procedure
# for the acceptance of each invoice"): pending from issue until the supplier accepts or disputes
# it, or the agreement's period passes in silence (deemed accepted). A reversal carries none ("").
PENDING = "pending"
ACCEPTED = "accepted"
DISPUTED = "disputed"
DEEMED = "deemed"
ACCEPTANCE_STATES = (PENDING, ACCEPTED, DISPUTED, DEEMED)
SETTLED = frozenset({ACCEPTED, DEEMED})  # what a payout may be paid on when the entity requires acceptance
ACCEPTANCE_DAYS_MIN, ACCEPTANCE_DAYS_MAX = 1, 90
ACCEPTANCE_DAYS_BEFORE_2026_12 = 14  # what the agreement text of version 2026-11 said ("objects within 14 days")


def required_fields(country: str) -> tuple[str, ...]:
    """The keys a self-invoice needs from a seller in `country`: the region too where its post uses one."""
    keys = tuple(key for key, _ in REQUIRED_DETAILS)
    return (*keys, "region") if uses_region(country) else keys


def missing_details(details: Mapping[str, object]) -> tuple[str, ...]:
    """The names of the required seller details that are empty, in form order."""
    missing = [label for key, label in REQUIRED_DETAILS if not str(details.get(key) or "").strip()]
    country = str(details.get("country") or "").strip().upper()
    if uses_region(country) and not str(details.get("region") or "").strip():
        missing.insert(missing.index("country") if "country" in missing else len(missing), REGION_COUNTRIES[country])
    return tuple(missing)


def bank_problems(details: Mapping[str, str]) -> dict[str, str]:
    """Where the supplier is paid, by what its bank uses: an IBAN (with its BIC), or a US routing + account number.

    Either set is optional, but each is whole: a routing number without its account number
    (or the reverse) pays nobody; an IBAN and a US account at once would leave the payer guessing.
    """
    problems: dict[str, str] = {}
    iban, routing, account = (details.get(k, "") for k in ("iban", "routing_number", "account_number"))
    if routing and not account:
        problems["account_number"] = "give the account number that goes with the routing number"
    elif account and not routing:
        problems["routing_number"] = "give the ABA routing number of the account's bank"
    if iban and (routing or account):
        problems["iban"] = "give an IBAN or a US routing and account number, not both"
    if details.get("bic") and not iban and not routing:
        problems["bic"] = "a BIC goes with an IBAN (or a US account, for wires from abroad)"
    return problems


def default_prefix(code: str, *, max_length: int) -> str:
    """A self-billing series prefix from a partner code, in whole words: "SB-QUOTEWISE-AFFILIATES-".

    Words are kept while they fit in `max_length`; a code whose first word alone does not fit
    is written with its words' initials ("SB-QA-"), never cut in the middle of a word.
    """
    words = [w for w in code.upper().replace("_", "-").split("-") if w]
    prefix = "SB-"
    for word in words:
        if len(prefix) + len(word) + 1 > max_length:
            break
        prefix += word + "-"
    if prefix == "SB-" and words:
        prefix += "".join(w[0] for w in words)[: max_length - 4] + "-"
    return prefix


def refusal(*, switch_on: bool, opted_in: bool, missing: Sequence[str], entity: str, partner: str) -> str:
    """Why no self-invoice is made ('' when it is): the first condition that fails, in words."""
    if not switch_on:
        return f"Self-billing is switched off for {entity}."
    if not opted_in:
        return f"{partner} has not opted in to self-billing."
    if missing:
        return f"{partner}'s self-billing details are incomplete: {', '.join(missing)}."
    return ""


def parse_rate(text: str | Decimal | None, *, field: str = "tax_rate") -> Decimal | None:
    """The supplier's optional tax %: empty means none; otherwise 0-100, at most two decimals."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = parse_decimal(text if isinstance(text, Decimal) else text.strip().rstrip("%"), field=field)
    except DomainError:
        raise DomainError(f"a tax rate is a percentage such as 19 or 7.5, got {text!r}"[:120], field=field) from None
    return check_rate(value, field=field)


@dataclass(frozen=True, slots=True)
class Totals:
    taxes: tuple[TaxSubtotal, ...]

    @property
    def net_minor(self) -> int:
        return sum(t.net_minor for t in self.taxes)

    @property
    def tax_minor(self) -> int:
        return sum(t.tax_minor for t in self.taxes)

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.tax_minor


def totals(lines: Sequence[tuple[Decimal, int]], currency: str) -> Totals:
    """Net, tax and total of a self-billed document from its (rate, net) lines."""
    return Totals(tax_subtotals(lines, currency))


def acceptance_days(value: object, *, field: str = "acceptance_days") -> int:
    """The deemed-acceptance period: whole days from 1 to 90, as typed (through the one number reader) or given."""
    days = value if isinstance(value, int) and not isinstance(value, bool) else whole_number(value, max_digits=3)
    if days is None or not ACCEPTANCE_DAYS_MIN <= days <= ACCEPTANCE_DAYS_MAX:
        raise DomainError(f"a whole number of days from {ACCEPTANCE_DAYS_MIN} to {ACCEPTANCE_DAYS_MAX}", field=field)
    return days


def acceptance_label(state: str, *, reversed_: bool = False) -> str:
    """How a document's acceptance reads on pages: "awaiting acceptance", "deemed accepted", ..."""
    if not state:
        return "not asked (a reversal)"
    if reversed_ and state == PENDING:
        return "reversed before acceptance"
    words = {PENDING: "awaiting acceptance", ACCEPTED: "accepted", DISPUTED: "disputed", DEEMED: "deemed accepted"}
    return words[state] + (", then reversed" if reversed_ and state != DISPUTED else "")
