"""Bank statements in: upload a camt.053/054 or a bank CSV, list what was not matched, match it by hand.

The statement is the raw request body, sent as `application/xml` / `text/xml` (camt) or
`text/csv`: this endpoint alone reads a body that is not JSON. Full-scope keys only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.http.request import RawPostDataException
from ninja import Router, Schema, Status
from pydantic import Field

from leadbill.api.auth import FULL, require
from leadbill.api.common import DEFAULT_PAGE, keyset_page
from leadbill.api.problems import ApiProblem, error_item, not_found
from leadbill.api.schemas import ERRORS, Amount, Currency, Problem
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import Invoice, Kind
from leadbill.receivables.bank_models import BankEntry
from leadbill.receivables.bankfiles import parse_columns
from leadbill.receivables.statements import (
    bank_entries,
    bank_entry_as_dict,
    bank_entry_match,
    bank_statement_import,
    result_as_dict,
)

router = Router(tags=["bank statements"])

MEDIA_TYPES = {"application/xml": "camt", "text/xml": "camt", "text/csv": "csv"}


class BankEntryOut(Schema):
    id: int
    account: str
    reference: str = Field(description="the bank's entry reference (AcctSvcrRef, NtryRef), or a hash of the entry")
    booked_on: date
    amount: Amount = Field(description="credits positive, debits negative")
    currency: Currency
    debtor: str
    remittance: str
    structured_reference: str
    state: Literal["matched", "unmatched", "ignored_debit"]
    reason: str = Field(description="why an entry is unmatched or ignored")
    rule: str = Field(description="how it was matched: rf_reference, invoice_number, amount, manual")
    invoice: str | None
    file_name: str
    imported_at: datetime


class BankEntryPage(Schema):
    items: list[BankEntryOut]
    next_cursor: str | None


class RowProblemOut(Schema):
    row: int
    field: str
    message: str


class BankImportOut(Schema):
    file_name: str
    format: Literal["camt", "csv"]
    new: int
    duplicate: int = Field(description="entries imported before (a replay records nothing)")
    matched: int
    unmatched: int
    ignored: int = Field(description="debits: money going out is no payment")
    not_booked: int = Field(description="pending or informational entries, skipped")
    refused_rows: int
    problems: list[RowProblemOut] = Field(description="CSV rows not read, by line number and field")
    unmatched_entries: list[BankEntryOut]


class BankMatchIn(Schema):
    invoice: Annotated[str, Field(min_length=1, max_length=60, description="the invoice's number")]


STATEMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The statement as it came from the bank: ISO 20022 camt.053 or camt.054 XML (any "
        "version), or a bank CSV whose columns are mapped with `columns`. At most 16 MB.",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/xml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def _statement(request: HttpRequest) -> tuple[bytes, str]:
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiProblem(413, "too-large", "the request body is larger than this server accepts") from None
    except RawPostDataException:  # pragma: no cover - the body was already read as a form
        raise ApiProblem(400, "body", "the request body could not be read") from None
    if not raw.strip():
        raise ApiProblem(400, "body", "the request has no body; send the statement file")
    content_type = (request.content_type or "").strip().lower()
    if content_type not in MEDIA_TYPES:
        sent = f"not {content_type}" if content_type else "and say so in the Content-Type header"
        raise ApiProblem(415, "media-type", f"send the statement as application/xml, text/xml or text/csv, {sent}")
    return raw, MEDIA_TYPES[content_type]


def _refused(exc: DomainError) -> ApiProblem:
    where = exc.field or "body"
    return ApiProblem(422, exc.code, str(exc), errors=[{**error_item(exc.message), "field": where}])


@router.post(
    "/bank-statements",
    response={201: BankImportOut, ERRORS: Problem},
    openapi_extra=STATEMENT_BODY,
    summary="Import a bank statement (camt.053/054 or CSV): new credits are matched and recorded as payments",
)
def post_statement(
    request: HttpRequest,
    columns: Annotated[str | None, Field(max_length=1000)] = None,
    account: Annotated[str, Field(max_length=64)] = "",
    file_name: Annotated[str, Field(max_length=200)] = "statement",
) -> Status[dict[str, Any]]:
    """For a CSV, `columns` maps Leadbill's fields to the file's headers:
    `date=Booking date,amount=Amount,currency=Currency,text=Purpose,debtor=Payer,entry_id=Id,reference=Ref`
    (date and amount required); `account` names the account (e.g. its IBAN)."""
    key = require(request, *FULL)
    content, fmt = _statement(request)
    try:
        mapping = parse_columns(columns) if columns else None
        result = bank_statement_import(actor=key.actor, entity=key.entity, content=content, file_name=file_name,
                                       format=fmt, columns=mapping, account=account)  # fmt: skip
    except DomainError as exc:
        raise _refused(exc) from None
    return Status(201, result_as_dict(result))


@router.get(
    "/bank-entries", response={200: BankEntryPage, ERRORS: Problem}, summary="Imported bank entries (newest first)"
)
def get_entries(
    request: HttpRequest,
    state: Literal["matched", "unmatched", "ignored_debit"] | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> dict[str, Any]:
    key = require(request, *FULL)
    return keyset_page(bank_entries(key.entity, state), limit=limit, cursor=cursor, shape=bank_entry_as_dict)


@router.post(
    "/bank-entries/{entry_id}/match",
    response={200: BankEntryOut, ERRORS: Problem},
    summary="Match an unmatched bank credit to an invoice: its payment is recorded",
)
def post_match(request: HttpRequest, entry_id: int, payload: BankMatchIn) -> dict[str, Any]:
    key = require(request, *FULL)
    entry = BankEntry.objects.filter(entity=key.entity, pk=entry_id).first() if 0 < entry_id < 2**63 else None
    if entry is None:
        raise not_found(f"bank entry {entry_id}")
    invoice = Invoice.objects.filter(entity=key.entity, kind=Kind.INVOICE, number=payload.invoice).first()
    if invoice is None:
        message = f"unknown invoice {payload.invoice!r}"
        raise ApiProblem(422, "unknown-invoice", message, errors=[error_item(message, "invoice")])
    entry = bank_entry_match(actor=key.actor, entry=entry, invoice=invoice)
    return bank_entry_as_dict(entry)
