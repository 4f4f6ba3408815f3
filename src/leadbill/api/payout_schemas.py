"""Shapes of payouts, self-billing and the supplier's acceptance of self-billed documents, as published in
the OpenAPI document (split from `schemas`, which keeps the shared field types)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from leadbill.api.schemas import MAX_BATCH, Amount, Code, Currency, Day, OneLine, Text


class AcceptanceOut(Schema):
    state: Literal["pending", "accepted", "disputed"] = Field(description="deemed acceptance is accepted, deemed true")
    deemed: bool = Field(description="accepted because the agreement's period passed without a dispute")
    due_at: datetime | None = Field(description="deemed accepted from then on, unless disputed")
    at: datetime | None
    by: str | None = Field(description="the portal user, the API key (api:<prefix>), or system:self-billing")
    via: Literal["portal", "api", "system"] | None
    address: str | None = Field(description="the address the decision came from")
    reason: str | None = Field(description="the supplier's reason, for a dispute")


class DisputeIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = Field(description="what is wrong with it")


PayoutStatus = Literal["draft", "pending", "ready", "paid", "cancelled"]
UnitPrice = Annotated[
    str,
    Field(pattern=r"^[0-9]+(\.[0-9]+)?$", max_length=30, examples=["4.00"], description="decimal string, per unit"),
]
PeriodText = Annotated[str, Field(examples=["2026-10", "2026-W44", "2026-10-01..2026-10-15"], max_length=40)]


class PayoutLineIn(Schema):
    description: Annotated[str, Field(min_length=1, max_length=300), OneLine]
    quantity: Annotated[int, Field(ge=1)]
    unit_price: UnitPrice = Field(description="decimal string, up to six decimals; the line is quantity × unit price")


class PayoutIn(Schema):
    """A payout made by hand (commissions, bonuses) for a supplier and a period."""

    partner: Code = Field(description="the supplier's code")
    period: PeriodText
    currency: Currency | None = Field(None, description="default: the supplier's currency")
    note: Text = ""
    lines: Annotated[list[PayoutLineIn], Field(min_length=1, max_length=100)]


class PayoutComputeIn(Schema):
    period: PeriodText
    partners: Annotated[list[Code], Field(max_length=MAX_BATCH)] | None = Field(
        None, description="suppliers' codes; default: every active supplier"
    )
    allow_open_period: bool = Field(False, description="compute a period that has not ended yet")


class PayoutComputeOut(Schema):
    created: list[int] = Field(description="ids of the new draft payouts")
    refreshed: list[int] = Field(description="ids of draft payouts computed again")
    kept: list[int] = Field(description="ids of payouts past draft (or made by hand): left as they are")
    empty: list[str] = Field(description="codes of suppliers with nothing to pay")


class TransitionIn(Schema):
    to: PayoutStatus
    reason: Annotated[str, Field(max_length=500)] = Field("", description="why; required to cancel")
    reference: Annotated[str, Field(max_length=200)] = Field("", description="the payment's reference, when paid")
    paid_on: Day | None = Field(None, description="the day the money left, when paid; default: today")


class PartnerRef(Schema):
    code: str
    name: str


class SelfBilledOut(Schema):
    id: int
    number: str
    type_code: Literal["389", "261"] = Field(description="UNTDID 1001: 389 self-billed invoice, 261 credit note")
    role: Literal["invoice", "credit", "invoice_reversal", "credit_reversal"]
    payout: int
    partner: PartnerRef
    issue_date: date
    due_date: date | None
    currency: Currency
    subtotal: Amount
    tax: Amount
    total: Amount
    corrects: list[str] = Field(description="numbers of the documents it corrects")
    reversed_at: datetime | None = Field(None, description="reversed (a dispute, a cancellation): no longer counts")
    acceptance: AcceptanceOut | None = Field(None, description="the supplier's acceptance; null on a reversal")


class SupplierInvoiceOut(Schema):
    id: int
    name: str
    reference: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class PayoutLineOut(Schema):
    position: int
    kind: str
    description: str
    quantity: int
    unit_price: str | None
    amount: Amount


class PayoutSummary(Schema):
    id: int
    partner: PartnerRef
    period: str
    first_day: date
    last_day: date
    currency: Currency
    status: PayoutStatus
    origin: Literal["computed", "manual", "api"]
    net: Amount = Field(description="the sum of the lines")
    tax: Amount = Field(description="tax on the self-billed documents; before ready, the tax they will carry")
    total: Amount = Field(description="to pay")
    tax_estimated: bool = Field(
        description="true while no self-billed document carries the tax yet (draft or pending): tax and total are "
        "computed from the supplier's rate, as the console and the portal show them"
    )
    leads_paid: int
    leads_deducted: int
    anomalies: list[str] = Field(description="leads left out, and why")
    note: str
    self_billing: str | None = Field(description="why no self-invoice was made")
    documents: list[SelfBilledOut]
    supplier_invoices: list[SupplierInvoiceOut] = Field(description="invoices the supplier uploaded itself")
    ready_at: datetime | None
    paid_at: datetime | None
    paid_on: date | None = Field(description="the day the money left, as given")
    paid_reference: str
    cancel_reason: str | None


class PayoutOut(PayoutSummary):
    lines: list[PayoutLineOut]


class PayoutPage(Schema):
    items: list[PayoutSummary]
    next_cursor: str | None


class SelfInvoiceOut(Schema):
    documents: list[SelfBilledOut]
    payout: PayoutOut


class AgreementOut(Schema):
    version: str
    accepted_by: str
    accepted_at: datetime
    accepted_from: str | None
    via: str


class PartnerSelfBilling(Schema):
    code: str
    name: str
    offered: bool
    opted_in: bool
    agreement: AgreementOut | None = Field(description="the agreement in force")
    missing: list[str] = Field(description="seller details still missing for a self-invoice")
    tax_rate: str | None = Field(description="percent added on its self-invoices; null: none")


class SelfBillingOut(Schema):
    enabled: bool = Field(description="the entity's switch: self-invoices are made for opted-in suppliers")
    partners: list[PartnerSelfBilling] = Field(description="suppliers, newest first")
    next_cursor: str | None


class SelfBillingSwitch(Schema):
    enabled: bool
