"""Payment files for ready payouts (SEPA pain.001, NACHA, bank CSV), the ACH settings, and payout spreadsheets."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from leadbill.api.auth import FULL, require
from leadbill.api.common import DEFAULT_PAGE, attachment, day_range, keyset_page
from leadbill.api.models import ApiKey
from leadbill.api.problems import ApiProblem, error_item, not_found
from leadbill.api.schemas import ERRORS, Day, Problem
from leadbill.payment_files.builders import sheets
from leadbill.payment_files.models import PaymentFile
from leadbill.payment_files.selectors import (
    ach_originator_of,
    file_as_dict,
    file_of,
    files_of,
    items_of,
    sheet_payouts,
    sheet_rows,
)
from leadbill.payment_files.services import (
    ACH_FIELDS,
    AchSettingsError,
    PaymentFileError,
    PaymentRefused,
    ach_originator_set,
    payment_file_cancel,
    payment_file_create,
    payment_file_mark_sent,
)

router = Router(tags=["payment files"])

Kind = Literal["sepa", "nacha", "bank_csv"]
PayoutId = Annotated[int, Field(gt=0, lt=2**63)]
PayoutStatus = Literal["draft", "pending", "ready", "paid", "cancelled"]
SHEET_IDS_MAX = 1_000


class PaymentFileIn(Schema):
    kind: Kind = Field(description="sepa: pain.001.001.09 in EUR; nacha or bank_csv: USD")
    payouts: Annotated[list[PayoutId], Field(min_length=1, max_length=10_000)] = Field(description="ready payout ids")
    execution_date: Day | None = Field(None, description="the day the bank should pay; default: today")
    skip_invalid: bool = Field(False, description="leave out payouts that cannot be paid instead of refusing the lot")


class SentIn(Schema):
    sent_on: Day | None = Field(None, description="the day the file went to the bank; default: today")


class CancelIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class Skipped(Schema):
    payout: int
    partner: str
    field: str
    message: str


class ItemOut(Schema):
    payout: int
    partner: str
    amount: str
    end_to_end_id: str
    remittance: str
    payee: str
    account: str
    active: bool
    payout_status: str


class PaymentFileOut(Schema):
    id: int
    kind: Kind
    currency: str
    status: Literal["created", "sent", "cancelled"]
    message_id: str
    name: str
    media_type: str
    sha256: str
    size: int
    total: str
    count: int
    execution_date: str
    skipped: list[Skipped]
    created_by: str
    created_at: str
    sent_on: str | None
    sent_at: str | None
    cancelled_at: str | None
    cancel_reason: str | None
    items: list[ItemOut] | None = None
    paid: list[int] | None = Field(None, description="after marking sent: the payouts it paid")
    already: bool | None = Field(None, description="after marking sent: it had been sent before; nothing changed")


class PaymentFilePage(Schema):
    items: list[PaymentFileOut]
    next_cursor: str | None


class AchSettings(Schema):
    immediate_destination: str | None = Field(None, description="routing number of the bank the file goes to")
    immediate_destination_name: str | None = None
    immediate_origin: str | None = Field(None, description="as the bank gave it, often 1 + the EIN")
    immediate_origin_name: str | None = None
    company_name: str | None = Field(None, description="the name receivers see, 16 characters")
    company_id: str | None = None
    odfi_routing: str | None = Field(None, description="routing number of the originating bank")
    entry_class: Literal["PPD", "CCD"] | None = None
    entry_description: str | None = Field(None, description="e.g. PAYOUT, 10 characters")


def file_for(key: ApiKey, file_id: int) -> PaymentFile:
    file = file_of(key.entity, file_id)
    if file is None:
        raise not_found(f"payment file {file_id}")
    return file


def _refused(exc: PaymentFileError, asked: Sequence[int]) -> ApiProblem:
    """Each payout the file cannot pay, pointed at by its index in the request (or named, when marking sent)."""
    index = {pk: i for i, pk in enumerate(asked)}
    errors = [error_item(f"payout {p.payout} ({p.partner}) {p.field}: {p.message}", "payouts",
                         index.get(p.payout, 0)) for p in exc.problems]  # fmt: skip
    status = 409 if isinstance(exc, PaymentRefused) else 422
    return ApiProblem(status, "conflict" if status == 409 else "invalid", str(exc), errors=errors)


@router.get("/payment-files", response={200: PaymentFilePage, ERRORS: Problem}, summary="List payment files")
def list_files(request: HttpRequest, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict[str, Any]:
    key = require(request, *FULL)
    return keyset_page(files_of(key.entity), limit=limit, cursor=cursor, shape=file_as_dict)


@router.post(
    "/payment-files",
    response={201: PaymentFileOut, ERRORS: Problem},
    summary="Make a payment file of ready payouts (refused, naming it, if a payout is already in a live file)",
)
def post_file(request: HttpRequest, payload: PaymentFileIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    try:
        file = payment_file_create(actor=key.actor, entity=key.entity, kind=payload.kind, payout_ids=payload.payouts,
                                   execution_date=payload.execution_date,
                                   skip_invalid=payload.skip_invalid)  # fmt: skip
    except PaymentFileError as exc:
        raise _refused(exc, payload.payouts) from None
    return Status(201, file_as_dict(file, items=items_of(file)))


@router.get(
    "/payment-files/ach-settings",
    response={200: AchSettings, ERRORS: Problem},
    summary="The entity's ACH originator details (for NACHA files); nulls until set",
)
def get_ach(request: HttpRequest) -> dict[str, Any]:
    key = require(request, *FULL)
    ach = ach_originator_of(key.entity)
    return {f: getattr(ach, f) if ach else None for f in ACH_FIELDS}


@router.put(
    "/payment-files/ach-settings",
    response={200: AchSettings, ERRORS: Problem},
    summary="Set the ACH originator details; only the fields sent change (all are needed the first time)",
)
def put_ach(request: HttpRequest, payload: AchSettings) -> dict[str, Any]:
    key = require(request, *FULL)
    given = {k: v for k, v in payload.dict().items() if v is not None}
    try:
        ach = ach_originator_set(actor=key.actor, entity=key.entity, values=given)
    except AchSettingsError as exc:
        errors = [error_item(message, name) for name, message in exc.problems.items()]
        raise ApiProblem(422, "invalid", str(exc), errors=errors) from None
    return {f: getattr(ach, f) for f in ACH_FIELDS}


@router.get(
    "/payment-files/{file_id}",
    response={200: PaymentFileOut, ERRORS: Problem},
    summary="A payment file with its payments",
)
def get_file(request: HttpRequest, file_id: int) -> dict[str, Any]:
    key = require(request, *FULL)
    file = file_for(key, file_id)
    return file_as_dict(file, items=items_of(file))


@router.get(
    "/payment-files/{file_id}/content",
    response={ERRORS: Problem},
    openapi_extra={
        "responses": {
            200: {
                "description": "the file as it was made, byte for byte (its SHA-256 is the ETag)",
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "text/plain": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
    summary="Download a payment file: the stored bytes, never a new file",
)
def get_content(request: HttpRequest, file_id: int) -> HttpResponse:
    key = require(request, *FULL)
    file = file_for(key, file_id)
    return attachment(bytes(file.content), file.media_type, file.name, file.sha256)


@router.post(
    "/payment-files/{file_id}/sent",
    response={200: PaymentFileOut, ERRORS: Problem},
    summary="Mark a file sent: its payouts become paid on that day (idempotent; 409 names refused payouts)",
)
def post_sent(request: HttpRequest, file_id: int, payload: SentIn) -> dict[str, Any]:
    key = require(request, *FULL)
    file = file_for(key, file_id)
    try:
        done = payment_file_mark_sent(actor=key.actor, file=file, sent_on=payload.sent_on)
    except PaymentFileError as exc:
        raise _refused(exc, [i.payout_id for i in items_of(file)]) from None
    return {**file_as_dict(done.file, items=items_of(done.file)), "paid": done.paid, "already": done.already}


@router.post(
    "/payment-files/{file_id}/cancel",
    response={200: PaymentFileOut, ERRORS: Problem},
    summary="Cancel a file not sent yet: its payouts are free for another file",
)
def post_cancel(request: HttpRequest, file_id: int, payload: CancelIn) -> dict[str, Any]:
    key = require(request, *FULL)
    file = payment_file_cancel(actor=key.actor, file=file_for(key, file_id), reason=payload.reason)
    return file_as_dict(file, items=items_of(file))


@router.get(
    "/payout-sheet",
    response={ERRORS: Problem},
    openapi_extra={
        "responses": {
            200: {
                "description": "payouts and their lines: xlsx (two sheets) or CSV (a row per line)",
                "content": {
                    sheets.XLSX: {"schema": {"type": "string", "format": "binary"}},
                    sheets.CSV: {"schema": {"type": "string"}},
                },
            }
        }
    },
    tags=["payouts"],
    summary="A spreadsheet of payouts with their lines, for a selection (payout=…) or the periods ending in a range",
)
def get_sheet(
    request: HttpRequest, format: Literal["xlsx", "csv"] = "xlsx", payout: list[int] | None = Query(None),  # noqa: B008 (ninja's way)
    first_day: Day | None = None, last_day: Day | None = None, status: PayoutStatus | None = None,
) -> HttpResponse:  # fmt: skip
    key = require(request, *FULL)
    for i, pk in enumerate(payout or []):
        if not 0 < pk < 2**63 or i >= SHEET_IDS_MAX:
            message = f"a payout id from 1 to 2^63-1, at most {SHEET_IDS_MAX} of them"
            raise ApiProblem(422, "invalid", message, errors=[{**error_item(message, "payout", i), "in": "query"}])
    if first_day and last_day:
        day_range(first_day, last_day)
    rows = sheet_rows(sheet_payouts(key.entity, ids=payout, first_day=first_day, last_day=last_day, status=status))
    content = sheets.xlsx_bytes(rows) if format == "xlsx" else sheets.csv_bytes(rows)
    media = sheets.XLSX if format == "xlsx" else sheets.CSV
    return attachment(content, media, f"payouts.{format}", hashlib.sha256(content).hexdigest())
