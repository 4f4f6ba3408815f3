"""Receivables: what partners owe (accounts, aging, statements) and the finance actions on it.

Every figure comes from `leadbill.receivables.selectors`; every write from one service of
`leadbill.receivables.services`. Partner keys see their own account and statement only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from leadbill.api.auth import FULL, READ_DOCUMENTS, require
from leadbill.api.common import amount_minor, attachment, invoice_for, partner_for
from leadbill.api.problems import ApiProblem, error_item
from leadbill.api.schemas import ERRORS, Amount, Currency, Day, OneLine, Problem
from leadbill.documents.statement import statement_csv, statement_file_name, statement_pdf
from leadbill.domain.money import check_currency
from leadbill.invoicing.models import Payment
from leadbill.invoicing.selectors import display_number, money
from leadbill.invoicing.services import today_in
from leadbill.receivables import dunning
from leadbill.receivables import services as ledger
from leadbill.receivables.selectors import AGING_BUCKETS, Statement, aging, partner_accounts, statement

router = Router(tags=["receivables"])
Reason = Annotated[str, Field(min_length=1, max_length=500), OneLine]


class OpenInvoiceOut(Schema):
    number: str
    due_date: date | None
    open: Amount


class AccountOut(Schema):
    currency: Currency
    balance: Amount = Field(description="what the partner owes in all: open invoices less credit on account")
    open: Amount
    overdue: Amount
    credit_on_account: Amount
    open_invoices: list[OpenInvoiceOut]


class AgingRowOut(Schema):
    partner: str
    currency: Currency
    current: Amount
    days_1_30: Amount
    days_31_60: Amount
    days_61_90: Amount
    days_over_90: Amount
    total: Amount


class StatementLineOut(Schema):
    date: date
    entry: str
    document: str
    reference: str
    charges: Amount
    credits: Amount
    balance: Amount


class StatementOut(Schema):
    partner: str
    currency: Currency
    first_day: date
    last_day: date
    opening_balance: Amount
    lines: list[StatementLineOut]
    closing_balance: Amount
    credit_on_account: Amount
    aging: dict[str, Amount]


class ApplyIn(Schema):
    currency: Currency
    invoice: str | None = Field(None, max_length=60, description="apply to this invoice; empty: oldest first")
    amount: Amount | None = Field(None, description="at most the credit on account; empty: all of it")


class AppliedOut(Schema):
    applied: dict[str, Amount]
    account: AccountOut


class RefundIn(Schema):
    currency: Currency
    amount: Amount
    reference: Annotated[str, Field(max_length=200), OneLine] = ""


class ReasonIn(Schema):
    reason: Reason


AGING_KEYS = dict(zip([b for b, _, _ in AGING_BUCKETS], ["current", "days_1_30", "days_31_60", "days_61_90",
                                                        "days_over_90"], strict=True))  # fmt: skip


def account_out(account: Any) -> dict[str, Any]:
    c = account.currency
    return {
        "currency": c, "balance": money(account.balance_minor, c), "open": money(account.open_minor, c),
        "overdue": money(account.overdue_minor, c), "credit_on_account": money(account.credit_minor, c),
        "open_invoices": [{"number": inv.number, "due_date": inv.due_date, "open": money(inv.open_minor, c)}
                          for inv in account.invoices],
    }  # fmt: skip


@router.get("/partners/{code}/account", response={200: list[AccountOut], ERRORS: Problem}, summary="What it owes")
def get_account(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    key = require(request, *READ_DOCUMENTS)
    partner = partner_for(key, code)
    return [account_out(a) for a in partner_accounts(partner, today_in(partner.entity)).values()]


@router.get("/receivables/aging", response={200: list[AgingRowOut], ERRORS: Problem}, summary="Aging per partner")
def get_aging(request: HttpRequest) -> list[dict[str, Any]]:
    key = require(request, *FULL)
    rows = aging(key.entity, today_in(key.entity))
    return [
        {"partner": r["partner"].code, "currency": r["currency"], "total": money(r["total"], r["currency"]),
         **{AGING_KEYS[b]: money(r[b], r["currency"]) for b, _, _ in AGING_BUCKETS}}
        for r in rows
    ]  # fmt: skip


class StatementQuery(Schema):
    from_: Day | None = Field(None, alias="from")
    to: Day | None = None
    currency: Currency | None = None
    format: Literal["json", "csv", "pdf"] = "json"


def statement_out(st: Statement) -> dict[str, Any]:
    c = st.currency
    return {
        "partner": st.partner.code, "currency": c, "first_day": st.first_day, "last_day": st.last_day,
        "opening_balance": money(st.opening_minor, c), "closing_balance": money(st.closing_minor, c),
        "credit_on_account": money(st.credit_minor, c),
        "aging": {AGING_KEYS[b]: money(st.aging[b], c) for b, _, _ in AGING_BUCKETS},
        "lines": [{"date": line.day, "entry": line.what, "document": line.document, "reference": line.reference,
                   "charges": money(line.debit_minor, c), "credits": money(line.credit_minor, c),
                   "balance": money(line.balance_minor, c)} for line in st.lines],
    }  # fmt: skip


@router.get(
    "/partners/{code}/statement",
    response={200: StatementOut, ERRORS: Problem},
    summary="Statement of account (JSON, or ?format=csv|pdf)",
)
def get_statement(request: HttpRequest, code: str, q: Query[StatementQuery]) -> Any:
    key = require(request, *READ_DOCUMENTS)
    partner = partner_for(key, code)
    last = q.to or today_in(partner.entity)
    first = q.from_ or last.replace(day=1)
    if first > last:
        message = "from is after to"
        raise ApiProblem(422, "invalid", message, errors=[{**error_item(message, "from"), "in": "query"}])
    st = statement(partner, check_currency(q.currency or partner.currency), first, last)
    if q.format == "csv":
        content = statement_csv(st).encode()
        return _file(content, "text/csv; charset=utf-8", statement_file_name(st, "csv"))
    if q.format == "pdf":
        return _file(statement_pdf(st), "application/pdf", statement_file_name(st, "pdf"))
    return statement_out(st)


def _file(content: bytes, media_type: str, name: str) -> HttpResponse:
    import hashlib

    return attachment(content, media_type, name, hashlib.sha256(content).hexdigest())


@router.post("/partners/{code}/credit/apply", response={200: AppliedOut, ERRORS: Problem}, summary="Apply credit")
def post_apply(request: HttpRequest, code: str, payload: ApplyIn) -> dict[str, Any]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    target = invoice_for(key, payload.invoice) if payload.invoice else None
    if target is not None and target.partner_id != partner.pk:
        message = f"{payload.invoice} is not {partner.code}'s"
        raise ApiProblem(422, "invalid", message, errors=[error_item(message, "invoice")])
    minor = amount_minor(payload.amount, payload.currency) if payload.amount is not None else None
    spent = ledger.credit_apply(actor=key.actor, partner=partner, currency=payload.currency, invoice=target,
                                amount_minor=minor)  # fmt: skip
    account = partner_accounts(partner, today_in(partner.entity))[payload.currency]
    return {"applied": {display_number(inv): money(a, payload.currency) for inv, a in spent},
            "account": account_out(account)}  # fmt: skip


@router.post("/partners/{code}/credit/refunds", response={201: AccountOut, ERRORS: Problem}, summary="Refund credit")
def post_refund(request: HttpRequest, code: str, payload: RefundIn) -> tuple[int, dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    ledger.credit_refund(actor=key.actor, partner=partner, currency=payload.currency,
                         amount_minor=amount_minor(payload.amount, payload.currency), reference=payload.reference)  # fmt: skip
    accounts = partner_accounts(partner, today_in(partner.entity))
    return 201, account_out(accounts[payload.currency])


@router.post("/invoices/{number}/write-off", response={200: AccountOut, ERRORS: Problem}, summary="Write off")
def post_write_off(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    key = require(request, *FULL)
    invoice = invoice_for(key, number)
    ledger.invoice_write_off(actor=key.actor, invoice=invoice, reason=payload.reason)
    return account_out(partner_accounts(invoice.partner, today_in(invoice.entity))[invoice.currency])


@router.post(
    "/invoices/{number}/payments/{payment_id}/reverse",
    response={200: AccountOut, ERRORS: Problem},
    summary="Reverse a payment (the invoice reopens)",
)
def post_reverse(request: HttpRequest, number: str, payment_id: int, payload: ReasonIn) -> dict[str, Any]:
    key = require(request, *FULL)
    invoice = invoice_for(key, number)
    payment = get_object_or_404(Payment, pk=payment_id, invoice=invoice)
    ledger.payment_reverse(actor=key.actor, payment=payment, reason=payload.reason)
    return account_out(partner_accounts(invoice.partner, today_in(invoice.entity))[invoice.currency])


class ReminderStep(Schema):
    days: int = Field(ge=-60, le=365, description="days after the due date; negative: before it")
    subject: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    body: Annotated[str, Field(min_length=1, max_length=4000)]


class RemindersOut(Schema):
    enabled: bool
    attach_statement: bool
    steps: list[ReminderStep]


class RemindersIn(Schema):
    enabled: bool | None = None
    attach_statement: bool | None = None
    steps: list[ReminderStep] | None = Field(None, min_length=1, max_length=8)


def reminders_out(policy: Any) -> dict[str, Any]:
    return {"enabled": policy.enabled, "attach_statement": policy.attach_statement, "steps": policy.steps}


@router.get("/reminders", response={200: RemindersOut, ERRORS: Problem}, summary="The reminder policy")
def get_reminders(request: HttpRequest) -> dict[str, Any]:
    key = require(request, *FULL)
    return reminders_out(dunning.policy_of(key.entity))


@router.put(
    "/reminders", response={200: RemindersOut, ERRORS: Problem}, summary="Change the reminder policy (what is sent)"
)
def put_reminders(request: HttpRequest, payload: RemindersIn) -> dict[str, Any]:
    key = require(request, *FULL)
    steps = [step.dict() for step in payload.steps] if payload.steps is not None else None
    policy = dunning.policy_set(actor=key.actor, entity=key.entity, enabled=payload.enabled, steps=steps,
                                attach_statement=payload.attach_statement)  # fmt: skip
    return reminders_out(policy)


@router.post("/partners/{code}/reminders/pause", response={200: dict[str, str], ERRORS: Problem}, summary="Pause")
def post_pause(request: HttpRequest, code: str, payload: ReasonIn) -> dict[str, str]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    dunning.reminders_pause(actor=key.actor, partner=partner, reason=payload.reason)
    return {"partner": partner.code, "reminders": "paused"}


@router.post("/partners/{code}/reminders/resume", response={200: dict[str, str], ERRORS: Problem}, summary="Resume")
def post_resume(request: HttpRequest, code: str) -> dict[str, str]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    dunning.reminders_resume(actor=key.actor, partner=partner)
    return {"partner": partner.code, "reminders": "on"}
