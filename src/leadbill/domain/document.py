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
