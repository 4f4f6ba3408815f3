"""Payouts to suppliers, their self-billed documents, and the entity's self-billing switch."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from leadbill.api.auth import FULL, READ_DOCUMENTS, require
from leadbill.api.common import (
    DEFAULT_PAGE,
    attachment,
    currency_in_body,
    keyset_page,
    partner_for,
    partner_in_body,
    period_for,
)
from leadbill.api.models import ApiKey, Scope
from leadbill.api.payout_schemas import (
    PayoutComputeIn,
    PayoutComputeOut,
    PayoutIn,
    PayoutOut,
    PayoutPage,
    SelfBillingOut,
    SelfBillingSwitch,
    SelfInvoiceOut,
    TransitionIn,
)
from leadbill.api.problems import ApiProblem, error_item, not_found
from leadbill.api.schemas import ERRORS, Problem, binary
from leadbill.documents.models import Format
from leadbill.documents.services import document_file
from leadbill.domain.errors import DomainError
from leadbill.domain.money import parse_decimal
from leadbill.partners.models import Partner
from leadbill.payouts.models import Origin, Payout
from leadbill.payouts.selectors import partner_payouts, payout_as_dict, payouts_as_dicts, payouts_of, with_details
from leadbill.payouts.services import ManualLine, payout_compute, payout_create, payout_transition
from leadbill.selfbilling.models import SelfBilledDocument, SupplierInvoice
from leadbill.selfbilling.selectors import self_billed_as_dict, self_billing_statuses
from leadbill.selfbilling.services import self_billing_generate, self_billing_switch

router = Router(tags=["payouts"])


def payouts_for(key: ApiKey) -> QuerySet[Payout]:
    """The payouts a key may see: its entity's, or for a partner key its own once submitted (not drafts)."""
    if key.scope == Scope.PARTNER and key.partner is not None:
        return partner_payouts(key.partner)
    return payouts_of(key.entity)


def payout_for(key: ApiKey, payout_id: int, *, lines: bool = True) -> Payout:
    payout = with_details(payouts_for(key), lines=lines).filter(pk=payout_id).first() if 0 < payout_id < 2**63 else None
    if payout is None:
        raise not_found(f"payout {payout_id}")
    return payout


def payout_out(key: ApiKey, payout_id: int) -> dict[str, Any]:
    return payout_as_dict(payout_for(key, payout_id), lines=True)


def suppliers_in_body(key: ApiKey, codes: list[str], field: str = "partners") -> list[Partner]:
    """The suppliers a body names by code, in its order; each unknown or non-supplier code is named by index."""
    found = {p.code: p for p in Partner.objects.select_related("entity").filter(entity=key.entity, code__in=codes)}
    errors = []
    for i, code in enumerate(codes):
        partner = found.get(code)
        if partner is None:
            errors.append(error_item(f"unknown partner {code!r}", field, i))
        elif not partner.is_supplier:
            errors.append(error_item(f"partner {code!r} does not supply leads; payouts are for suppliers", field, i))
    if errors:
        detail = "; ".join(f"{e['pointer']}: {e['message']}" for e in errors[:5])
        raise ApiProblem(422, "invalid", detail, errors=errors)
    return list({code: found[code] for code in codes}.values())


def manual_lines(payload: PayoutIn) -> list[ManualLine]:
    """The body's lines for `payout_create`, which checks and bounds them."""
    return [
        ManualLine(line.description, line.quantity, parse_decimal(line.unit_price, field=f"lines[{i}].unit_price"))
        for i, line in enumerate(payload.lines)
    ]


@router.get("/payouts", response={200: PayoutPage, ERRORS: Problem}, summary="List payouts, newest first")
def list_payouts(
    request: HttpRequest, partner: str | None = None, status: str | None = None, period: str | None = None,
    limit: int = DEFAULT_PAGE, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    key = require(request, *READ_DOCUMENTS)
    qs = with_details(payouts_for(key))
    if partner:
        qs = qs.filter(partner=partner_for(key, partner))
    if status:
        qs = qs.filter(status=status)
    if period:
        qs = qs.filter(period_key=period)
    return keyset_page(qs, limit=limit, cursor=cursor, shape_page=payouts_as_dicts)


@router.post(
    "/payouts",
    response={201: PayoutOut, ERRORS: Problem},
    summary="Make a payout by hand (commissions, bonuses): a draft with the lines given",
)
def post_payout(request: HttpRequest, payload: PayoutIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_in_body(key, payload.partner)
    period = period_for(key, payload.period)
    currency = currency_in_body(payload.currency) if payload.currency else partner.currency
    payout = payout_create(
        actor=key.actor, partner=partner, period=period, lines=manual_lines(payload), currency=currency,
        note=payload.note, origin=Origin.API,
    )  # fmt: skip
    return Status(201, payout_out(key, payout.pk))


@router.post(
    "/payouts/compute",
    response={200: PayoutComputeOut, ERRORS: Problem},
    summary="Compute a period's payouts from the leads bought from each supplier (drafts)",
)
def compute(request: HttpRequest, payload: PayoutComputeIn) -> dict[str, Any]:
    key = require(request, *FULL)
    period = period_for(key, payload.period)
    partners = suppliers_in_body(key, payload.partners) if payload.partners is not None else None
    result = payout_compute(
        actor=key.actor, entity=key.entity, period=period, partners=partners,
        allow_open_period=payload.allow_open_period,
    )  # fmt: skip
    return {
        "created": [p.pk for p in result.created],
        "refreshed": [p.pk for p in result.refreshed],
        "kept": [p.pk for p in result.kept],
        "empty": result.empty,
    }


@router.get(
    "/payouts/{payout_id}",
    response={200: PayoutOut, ERRORS: Problem},
    summary="Get a payout, with its lines, self-billed documents and uploaded invoices",
)
def get_payout(request: HttpRequest, payout_id: int) -> dict[str, Any]:
    key = require(request, *READ_DOCUMENTS)
    return payout_out(key, payout_id)


@router.post(
    "/payouts/{payout_id}/transition",
    response={200: PayoutOut, ERRORS: Problem},
    summary="Move a payout: draft → pending → ready → paid, or cancelled (ready makes its self-invoice)",
)
def transition(request: HttpRequest, payout_id: int, payload: TransitionIn) -> dict[str, Any]:
    key = require(request, *FULL)
    payout = payout_for(key, payout_id, lines=False)
    payout_transition(
        actor=key.actor, payout=payout, to=payload.to, reason=payload.reason, reference=payload.reference,
        paid_on=payload.paid_on,
    )  # fmt: skip
    return payout_out(key, payout_id)


@router.post(
    "/payouts/{payout_id}/self-invoice",
    response={201: SelfInvoiceOut, ERRORS: Problem},
    tags=["self-billing"],
    summary="Make the self-billed documents of a ready payout that has none (once what was missing is put right)",
)
def self_invoice(request: HttpRequest, payout_id: int) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    docs = self_billing_generate(actor=key.actor, payout=payout_for(key, payout_id, lines=False))
    return Status(201, {"documents": [self_billed_as_dict(d) for d in docs], "payout": payout_out(key, payout_id)})


@router.get(
    "/payouts/{payout_id}/supplier-invoices/{upload_id}",
    response={ERRORS: Problem},
    openapi_extra={
        "responses": {
            200: {
                "description": "the file as the supplier uploaded it: a PDF or an e-invoice XML",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "application/xml": {"schema": {"type": "string"}},
                },
            }
        }
    },
    summary="Download an invoice the supplier uploaded for a payout",
)
def get_supplier_invoice(request: HttpRequest, payout_id: int, upload_id: int) -> HttpResponse:
    key = require(request, *READ_DOCUMENTS)
    payout = payout_for(key, payout_id, lines=False)
    upload = SupplierInvoice.objects.filter(payout=payout, pk=upload_id).first() if 0 < upload_id < 2**63 else None
    if upload is None:
        raise not_found(f"uploaded invoice {upload_id} of payout {payout_id}")
    return attachment(bytes(upload.content), upload.media_type, upload.name, upload.sha256)


# --- self-billed documents ----------------------------------------------------------------


def self_billed_for(key: ApiKey, number: str, partner: str | None) -> SelfBilledDocument:
    """A self-billed document by number; each supplier has its own series, so `partner` tells equal numbers apart."""
    qs = SelfBilledDocument.objects.filter(entity=key.entity, number=number).select_related("partner")
    if key.scope == Scope.PARTNER:
        qs = qs.filter(partner_id=key.partner_id)
    if partner:
        qs = qs.filter(partner=partner_for(key, partner))
    docs = list(qs.order_by("pk")[:10])
    if not docs:
        raise not_found(f"self-billed document {number!r}")
    if len(docs) > 1:
        codes = ", ".join(sorted(d.partner.code for d in docs))
        message = f"suppliers {codes} each have a self-billed document numbered {number!r}: say whose with partner"
        raise ApiProblem(422, "ambiguous", message, errors=[{**error_item(message, "partner"), "in": "query"}])
    return docs[0]


def _self_billed_file(request: HttpRequest, number: str, fmt: str, partner: str | None) -> HttpResponse:
    key = require(request, *READ_DOCUMENTS)
    doc = self_billed_for(key, number, partner)
    try:
        file = document_file(doc, fmt, actor=key.actor)
    except DomainError as exc:  # the stored data cannot make this format: not the request's fault
        raise ApiProblem(409, "document", f"{doc.number} cannot be rendered as {fmt}: {exc}") from None
    return attachment(file.content, file.media_type, file.name, file.sha256)


@router.get(
    "/self-billed/{number}/pdf",
    response={ERRORS: Problem},
    openapi_extra=binary("application/pdf", "the PDF (archived at first download, identical ever after)"),
    tags=["self-billing"],
    summary="Download a self-billed document's PDF",
)
def get_self_billed_pdf(request: HttpRequest, number: str, partner: str | None = None) -> HttpResponse:
    return _self_billed_file(request, number, Format.PDF, partner)


@router.get(
    "/self-billed/{number}/einvoice",
    response={ERRORS: Problem},
    openapi_extra={
        "responses": {
            200: {
                "description": "UBL 2.1 (Peppol Self-Billing 3.0) XML, or a Factur-X (EN 16931) PDF",
                "content": {
                    "application/xml": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
    tags=["self-billing"],
    summary="Download a self-billed document's e-invoice (389 or 261)",
)
def get_self_billed_einvoice(
    request: HttpRequest, number: str, format: str = "ubl", partner: str | None = None
) -> HttpResponse:
    if format not in (Format.UBL, Format.FACTURX):
        message = f"format must be ubl or facturx, not {format!r}"
        raise ApiProblem(422, "invalid", message, errors=[{**error_item(message, "format"), "in": "query"}])
    return _self_billed_file(request, number, format, partner)


# --- the entity's switch ------------------------------------------------------------------


@router.get(
    "/self-billing",
    response={200: SelfBillingOut, ERRORS: Problem},
    tags=["self-billing"],
    summary="The self-billing switch, and where each supplier stands (newest first)",
)
def get_self_billing(request: HttpRequest, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict[str, Any]:
    key = require(request, *FULL)
    qs = Partner.objects.filter(entity=key.entity, is_supplier=True)
    page = keyset_page(qs, limit=limit, cursor=cursor, shape=lambda partner: partner)
    partners: list[Partner] = page["items"]
    statuses = self_billing_statuses(key.entity, partners)
    return {
        "enabled": key.entity.self_billing,
        "partners": [{"code": p.code, "name": p.name, **s} for p, s in zip(partners, statuses, strict=True)],
        "next_cursor": page["next_cursor"],
    }


@router.put(
    "/self-billing",
    response={200: SelfBillingSwitch, ERRORS: Problem},
    tags=["self-billing"],
    summary="Switch self-billing on or off for the entity (off stops new self-invoices at once)",
)
def put_self_billing(request: HttpRequest, payload: SelfBillingSwitch) -> dict[str, Any]:
    key = require(request, *FULL)
    entity = self_billing_switch(actor=key.actor, entity=key.entity, on=payload.enabled)
    return {"enabled": entity.self_billing}
