"""Shapes of invoices, payments, credit notes, adjustments, top-ups and balances, as published in the OpenAPI document
(split from `schemas`, which keeps the shared field types and the other resources)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from leadbill.api.schemas import Amount, Code, Currency, Day, Instant, OneLine


class InvoicePeriod(Schema):
    key: str
    first_day: date | None
    last_day: date | None
    start: datetime
    end: datetime


class InvoiceLineOut(Schema):
    position: int
    kind: str
    description: str
    quantity: int
    unit_price: str | None
    amount: Amount
    tax_rate: str


class TaxOut(Schema):
    rate: str
    net: Amount
    tax: Amount


class PrepayOut(Schema):
    opening_balance: Amount | None
    topups: Amount | None
    closing_balance: Amount | None


class HistoryOut(Schema):
    at: datetime
    actor: str
    action: str
    data: dict[str, Any]


class PaymentOut(Schema):
    id: int
    amount: Amount
    paid_on: date
    reference: str


class InvoiceSummary(Schema):
    number: str | None
    reference: str
    kind: Literal["invoice", "receipt", "credit_note"]
    status: Literal["draft", "issued", "partially_paid", "paid", "void", "written_off"]
    partner: str
    period: str
    issue_date: date | None
    due_date: date | None
    currency: Currency
    total: Amount
    paid: Amount
    balance_due: Amount | None


class InvoicePage(Schema):
    items: list[InvoiceSummary]
    next_cursor: str | None


class InvoiceOut(Schema):
    number: str | None
    reference: str
    kind: Literal["invoice", "receipt", "credit_note"]
    status: Literal["draft", "issued", "partially_paid", "paid", "void", "written_off"]
    entity: str
    partner: str
    seller: dict[str, Any]
    buyer: dict[str, Any]
    period: InvoicePeriod | None
    manual: bool = False
    issue_date: date | None
    due_date: date | None
    payment_terms_days: int | None
    currency: Currency
    leads_purchased: int
    leads_returned: int
    lines: list[InvoiceLineOut]
    subtotal: Amount
    taxes: list[TaxOut]
    tax: Amount
    total: Amount
    paid: Amount
    balance_due: Amount | None
    prepay: PrepayOut | None
    corrects: str | None
    notes: list[str]
    issued_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    history: list[HistoryOut] | None = Field(None, description="the audit trail; not shown to partner keys")
    payments: list[PaymentOut]


class PaymentIn(Schema):
    amount: Amount | None = Field(None, description="default: the whole balance due (mark paid)")
    currency: Currency
    paid_on: Day
    reference: Annotated[str, Field(max_length=200), OneLine] = ""


class PaymentSaved(Schema):
    payment: PaymentOut
    invoice: InvoiceOut


class VoidIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=500), OneLine]
    leads: Literal["rebill", "cancel"] = Field(
        "rebill", description="rebill: a correction, the leads are billed again on the next run; cancel: not billable"
    )
    issue_date: Day | None = Field(None, description="of the credit note that reverses it")


class VoidOut(Schema):
    voided: InvoiceOut
    credit_note: InvoiceOut


class IssueIn(Schema):
    issue_date: Day | None = None


class CreditNoteIn(Schema):
    partner: Code
    returns: bool = Field(True, description="credit accepted returns not credited yet")
    adjustments: bool = Field(True, description="include open credit adjustments")
    issue_date: Day | None = None


class ManualLineIn(Schema):
    description: Annotated[str, Field(min_length=1, max_length=300), OneLine]
    quantity: int = Field(ge=-1_000_000_000, le=1_000_000_000, description="negative: a credit line")
    unit_price: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]{1,6})?$", examples=["250.00"])]
    tax_rate: Annotated[str, Field(pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$", examples=["20"])] | None = Field(
        None, description="percent; default: the partner's rate"
    )


class ManualInvoiceIn(Schema):
    partner: Code
    period: Annotated[str, Field(examples=["2026-01", "2026-01-01..2026-01-15"], max_length=40)]
    currency: Currency
    lines: Annotated[list[ManualLineIn], Field(min_length=1, max_length=200)]
    issue: bool = Field(False, description="issue it now (numbered); otherwise a draft to review")
    issue_date: Day | None = None


class AdjustmentIn(Schema):
    partner: Code
    amount: Amount = Field(description="negative: a credit; positive: a debit, on the next document")
    currency: Currency
    reason: Annotated[str, Field(min_length=1, max_length=300), OneLine]
    corrects: str | None = Field(None, max_length=60, description="number of the issued invoice it corrects")


class AdjustmentOut(Schema):
    id: int
    partner: str
    amount: Amount
    currency: Currency
    reason: str
    created_at: datetime
    invoice: str | None


class AdjustmentPage(Schema):
    items: list[AdjustmentOut]
    next_cursor: str | None


class TopupIn(Schema):
    amount: Amount
    currency: Currency
    occurred_at: Instant | None = Field(None, description="default: now")
    reference: Annotated[str, Field(max_length=200), OneLine] = ""


class LedgerEntryOut(Schema):
    id: int
    kind: str
    amount: Amount
    currency: Currency
    document: str | None
    reference: str
    occurred_at: datetime


class BalanceOut(Schema):
    partner: str
    billing_mode: str
    currency: Currency
    balance: Amount
    entries: list[LedgerEntryOut]
