"""A money document as the outside world sees it: the one input of every renderer.

PDF, Factur-X (CII) and UBL are three views of the same `Document`, built once from an
issued invoice (or, later, a payout). Amounts here carry the document's own sign: a credit
note stores negative amounts in the ledger but presents positive ones, as EN 16931 wants
(BR-CO-... rules compare the credit note's own totals, and a 381 is a credit by its type).

Everything is minor units or micros plus the currency; formatting belongs to the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from leadbill.domain.errors import DomainError
from leadbill.domain.money import MICROS_EXPONENT, exponent
from leadbill.domain.payment_reference import rf_reference

INVOICE = "invoice"
RECEIPT = "receipt"
CREDIT_NOTE = "credit_note"
SELF_BILLED_INVOICE = "self_billed_invoice"
SELF_BILLED_CREDIT_NOTE = "self_billed_credit_note"
KINDS = (INVOICE, RECEIPT, CREDIT_NOTE, SELF_BILLED_INVOICE, SELF_BILLED_CREDIT_NOTE)

# UNTDID 1001 document type codes (EN 16931 BT-3).
TYPE_CODES = {
    INVOICE: "380",
    RECEIPT: "380",
    CREDIT_NOTE: "381",
    SELF_BILLED_INVOICE: "389",
    SELF_BILLED_CREDIT_NOTE: "261",
}
CREDIT_KINDS = frozenset({CREDIT_NOTE, SELF_BILLED_CREDIT_NOTE})
SELF_BILLED_KINDS = frozenset({SELF_BILLED_INVOICE, SELF_BILLED_CREDIT_NOTE})

# UN/ECE Recommendation 20 unit codes: one lead is "one" (C62); an amount that is not
# count × price (credits of leads billed at different tier prices) is a lump sum (LS).
UNIT_ONE = "C62"
UNIT_LUMP_SUM = "LS"


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer, as frozen on the document."""

    name: str
    country: str
    address_line1: str = ""
    address_line2: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""  # state, province or territory (BT-39 / BT-54); a code where `domain.regions` knows them
    tax_id: str = ""
    # Peppol participant id as "scheme:identifier" (e.g. "0088:5790000435968", "9930:DE811223345").
    endpoint: str = ""
    email: str = ""
    phone: str = ""
    contact_name: str = ""
    iban: str = ""
    bic: str = ""
    code: str = ""
    logo_sha256: str = ""

    @property
    def endpoint_scheme(self) -> str:
        return self.endpoint.partition(":")[0] if ":" in self.endpoint else ""

    @property
    def endpoint_id(self) -> str:
        return self.endpoint.partition(":")[2] if ":" in self.endpoint else ""


# UNTDID 4461 payment means codes (EN 16931 BT-81), as EN 16931 and Peppol BIS 3 use them.
MEANS_SEPA_CREDIT_TRANSFER = "58"  # an IBAN in EUR: SEPA, where BR-61 and DE-R-019 expect an IBAN
MEANS_CREDIT_TRANSFER = "30"  # any other transfer to an account named in BT-84 (IBAN in another currency, ACH)
MEANS_NOT_DEFINED = "1"  # no account on file: the document still carries its payment reference (BT-83)


@dataclass(frozen=True, slots=True)
class PaymentAccount:
    """Where the payer sends the money, in one currency: an IBAN (SEPA style) or a US ACH account.

    Values arrive checked (the set-up file's reader: schwifty, python-stdnum) and compact.
    """

    currency: str
    iban: str = ""
    bic: str = ""  # BIC, also called SWIFT code: for SEPA and for international wires
    account_name: str = ""
    bank_name: str = ""
    ach_routing: str = ""  # ABA routing number (9 digits) for ACH credits
    ach_account: str = ""
    wire_routing: str = ""  # ABA routing number for domestic (Fedwire) wires, when the bank uses another

    @property
    def account_id(self) -> str:
        """BT-84: the IBAN, else the account number."""
        return self.iban or self.ach_account

    @property
    def institution_id(self) -> str:
        """BT-86, "such as a BIC or a national clearing code": the BIC, else the ACH routing number.

        An ACH account's BT-84 is a plain account number that means nothing without its routing
        number; a BIC is only for wires from abroad, which the printed document explains.
        """
        if self.iban:
            return self.bic
        return self.ach_routing or self.bic

    @property
    def means_code(self) -> str:
        """BT-81. 58 only for an IBAN in EUR (a SEPA credit transfer); any other account is 30.

        30 "credit transfer" rather than 42 "payment to bank account": EN 16931 (BR-61) and the
        receivers' ERPs read 30 and 58 as "transfer to the account in BG-17", and an ACH credit or
        a wire is exactly that. 42 is not mapped to BG-17 by most receivers.
        """
        return MEANS_SEPA_CREDIT_TRANSFER if self.iban and self.currency == "EUR" else MEANS_CREDIT_TRANSFER


@dataclass(frozen=True, slots=True)
class Line:
    position: int
    kind: str
    description: str
    quantity: int
    unit_price_micros: int | None
    amount_minor: int
    tax_rate: Decimal
    tax_category: str
    detail: str = ""

    def invoiced(self, currency: str) -> tuple[Decimal, str, Decimal]:
        """(quantity, unit code, net price) for the e-invoice, with quantity × price = amount exactly.

        EN 16931 forbids a negative price (BR-27), so a credit is a negative quantity. A line
        without one exact price per lead (returns of leads billed at several tier prices,
        adjustments) is one lump sum with the lead count kept in its description.
        """
        amount = Decimal(self.amount_minor).scaleb(-exponent(currency))
        sign = -1 if self.amount_minor < 0 else 1
        count = abs(self.quantity)
        if self.unit_price_micros is not None and count:
            price = Decimal(self.unit_price_micros).scaleb(-MICROS_EXPONENT)
            if price * count == abs(amount):
                return Decimal(sign * count), UNIT_ONE, price.normalize()
        if count:
            price = abs(amount) / count
            if price * count == abs(amount) and price == price.quantize(Decimal(1).scaleb(-MICROS_EXPONENT)):
                return Decimal(sign * count), UNIT_ONE, price
        return Decimal(sign), UNIT_LUMP_SUM, abs(amount)


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    category: str
    rate: Decimal
    net_minor: int
    tax_minor: int
    exemption_code: str = ""
    exemption_reason: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    number: str
    issue_date: date
    currency: str
    locale: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    taxes: tuple[TaxBreakdown, ...]
    due_date: date | None = None
    period_first_day: date | None = None
    period_last_day: date | None = None
    payment_terms_days: int | None = None
    leads_purchased: int = 0
    leads_returned: int = 0
    prepaid_minor: int = 0
    opening_balance_minor: int | None = None
    topups_minor: int | None = None
    closing_balance_minor: int | None = None
    preceding_number: str = ""
    preceding_issue_date: date | None = None
    buyer_reference: str = ""
    notes: tuple[str, ...] = field(default=())
    footer: str = ""
    # How to pay: the seller's account in the document's currency, and a postal remit-to address.
    payment_account: PaymentAccount | None = None
    remit_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DomainError(f"unknown document kind {self.kind!r}", field="kind")
        lines_net = sum(line.amount_minor for line in self.lines)
        if lines_net != sum(t.net_minor for t in self.taxes):
            raise DomainError("the tax breakdown does not cover the lines' net amounts", field="taxes")

    @property
    def type_code(self) -> str:
        return TYPE_CODES[self.kind]

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS

    @property
    def is_self_billed(self) -> bool:
        return self.kind in SELF_BILLED_KINDS

    @property
    def payment_reference(self) -> str:
        """BT-83: the ISO 11649 RF reference of the number on every document that asks for payment; '' on credits."""
        return "" if self.is_credit else rf_reference(self.number)

    @property
    def payment_means_code(self) -> str:
        return self.payment_account.means_code if self.payment_account else MEANS_NOT_DEFINED

    @property
    def subtotal_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        return sum(t.tax_minor for t in self.taxes)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.tax_minor

    @property
    def payable_minor(self) -> int:
        return self.total_minor - self.prepaid_minor
