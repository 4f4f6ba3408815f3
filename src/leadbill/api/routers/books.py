"""The books: the account mapping, the journal of a range, and exports (QuickBooks Online, Xero, DATEV, journal).

Reads come from `leadbill.books.selectors`, writes from `leadbill.books.services`; a full key only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from leadbill.api.auth import FULL, require
from leadbill.api.common import attachment, json_body
from leadbill.api.problems import ApiProblem
from leadbill.api.schemas import ERRORS, Amount, Currency, Day, Problem, body
from leadbill.books import selectors
from leadbill.books.services import export_create, mapping_update
from leadbill.domain import journal as j
from leadbill.invoicing.selectors import money

router = Router(tags=["books"])


class TaxRateOut(Schema):
    rate_bp: int
    payable: str = ""
    receivable: str = ""
    sales_code: str = ""
    purchase_code: str = ""


class MappingOut(Schema):
    chart: str
    receivables: str
    payables: str
    cash: str
    cash_by_currency: dict[str, str]
    revenue: str
    revenue_by_lead_type: dict[str, str]
    cost: str
    cost_by_lead_type: dict[str, str]
    contra_revenue: str
    tax_payable: str
    tax_receivable: str
    tax_rates: list[TaxRateOut]
    other: str
    datev_consultant: int | None
    datev_client: int | None
    fiscal_year_start_month: int
    account_length: int


class RangeQuery(Schema):
    from_: Day = Field(alias="from")
    to: Day


class KindTotalOut(Schema):
    currency: Currency
    kind: str
    count: int
    total: Amount


class AccountTotalOut(Schema):
    currency: Currency
    account: str
    debit: Amount
    credit: Amount


class JournalOut(Schema):
    kinds: list[KindTotalOut]
    accounts: list[AccountTotalOut]


class ExportIn(Schema):
    target: Literal["qbo", "xero", "datev", "journal"]
    from_: Day = Field(alias="from")
    to: Day
    all: bool = Field(False, description="export every document of the range again, not only the new ones")


class BatchOut(Schema):
    id: int
    target: str
    date_from: date
    date_to: date
    documents: int
    new: int
    already: int
    file_name: str
    sha256: str
    size: int
    created_by: str
    created_at: datetime


class ExportOut(Schema):
    summary: str = Field(description='"3 new, 12 already exported in batch 4"')
    new: int
    already: int
    batch: BatchOut | None


def batch_out(b: Any) -> dict[str, Any]:
    return {"id": b.pk, "target": b.target, "date_from": b.date_from, "date_to": b.date_to,
            "documents": b.document_count, "new": b.new_count, "already": b.already_count, "file_name": b.file_name,
            "sha256": b.sha256, "size": b.size, "created_by": b.created_by, "created_at": b.created_at}  # fmt: skip


@router.get("/books/accounts", response={200: MappingOut, ERRORS: Problem}, summary="The account mapping")
def get_accounts(request: HttpRequest) -> dict[str, Any]:
    key = require(request, *FULL)
    return selectors.mapping_columns(key.entity)


class TaxRateIn(Schema):
    rate: str = Field(description="percent, e.g. 19")
    payable: str | None = None
    receivable: str | None = None
    sales_code: str | None = None
    purchase_code: str | None = None


class DatevIn(Schema):
    consultant: int | None = None
    client: int | None = None
    fiscal_year_start_month: int | None = None
    account_length: int | None = None


class MappingIn(Schema):
    """Any of the set-up file's `books:` keys (docs/setup-file.md); a key left out stays as it is."""

    receivables: str | None = None
    payables: str | None = None
    cash: str | None = None
    cash_by_currency: dict[str, str] | None = None
    revenue: str | None = None
    revenue_by_lead_type: dict[str, str] | None = None
    cost: str | None = None
    cost_by_lead_type: dict[str, str] | None = None
    contra_revenue: str | None = None
    tax_payable: str | None = None
    tax_receivable: str | None = None
    tax_rates: list[TaxRateIn] | None = None
    other: str | None = None
    datev: DatevIn | None = None


@router.patch(
    "/books/accounts",
    response={200: MappingOut, ERRORS: Problem},
    openapi_extra=body(MappingIn),
    summary="Change the keys sent of the account mapping",
)
def patch_accounts(request: HttpRequest) -> dict[str, Any]:
    """The keys sent, as the set-up file's `books:` section spells them (docs/setup-file.md); the rest stays."""
    key = require(request, *FULL)
    raw = json_body(request)
    if not isinstance(raw, dict):
        raise ApiProblem(422, "invalid", "body: expected a JSON object of books: keys")
    mapping_update(actor=key.actor, entity=key.entity, raw=raw)
    return selectors.mapping_columns(key.entity)


@router.get("/books/journal", response={200: JournalOut, ERRORS: Problem}, summary="The journal of a range")
def get_journal(request: HttpRequest, q: Query[RangeQuery]) -> dict[str, Any]:
    key = require(request, *FULL)
    if q.to < q.from_:
        raise ApiProblem(422, "invalid", "to: the range ends before it starts")
    period = selectors.period_facts(key.entity, q.from_, q.to)
    entries = j.journal(period.facts, selectors.accounts_of(selectors.mapping_columns(key.entity)))
    kinds: dict[tuple[str, str], list[int]] = {}
    for e in entries:
        row = kinds.setdefault((e.facts.currency, e.facts.kind), [0, 0])
        row[0] += 1
        row[1] += e.facts.total_minor
    return {
        "kinds": [{"currency": c, "kind": k, "count": n, "total": money(t, c)} for (c, k), (n, t) in sorted(kinds.items())],
        "accounts": [{"currency": c, "account": a, "debit": money(d, c), "credit": money(k, c)}
                     for (c, a), (d, k) in j.account_totals(entries).items()],
    }  # fmt: skip


@router.post("/books/exports", response={201: ExportOut, 200: ExportOut, ERRORS: Problem}, summary="Export a range")
def post_export(request: HttpRequest, payload: ExportIn) -> tuple[int, dict[str, Any]]:
    key = require(request, *FULL)
    result = export_create(actor=key.actor, entity=key.entity, target=payload.target, first=payload.from_,
                           last=payload.to, all_documents=payload.all)  # fmt: skip
    body = {"summary": result.summary, "new": result.new, "already": result.already,
            "batch": batch_out(result.batch) if result.batch else None}  # fmt: skip
    return (201 if result.batch else 200), body


@router.get("/books/exports", response={200: list[BatchOut], ERRORS: Problem}, summary="The export batches")
def get_exports(request: HttpRequest) -> list[dict[str, Any]]:
    key = require(request, *FULL)
    return [batch_out(b) for b in selectors.batches_of(key.entity)]


@router.get("/books/exports/{batch_id}/file", response={ERRORS: Problem}, summary="Download an export's file")
def get_export_file(request: HttpRequest, batch_id: int) -> HttpResponse:
    key = require(request, *FULL)
    try:
        batch = selectors.batch_of(key.entity, batch_id)
    except selectors.ExportBatch.DoesNotExist:
        raise ApiProblem(404, "not-found", f"no export batch {batch_id}") from None
    return attachment(bytes(batch.content), batch.media_type, batch.file_name, batch.sha256)
