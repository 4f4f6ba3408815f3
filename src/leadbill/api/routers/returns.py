"""Returns: requested by the systems that deliver (or in bulk), decided by finance."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from leadbill.api.auth import FULL, INGEST, require
from leadbill.api.common import DEFAULT_PAGE, conforming, json_body, json_object, keyset_page, partner_for
from leadbill.api.models import Scope
from leadbill.api.problems import ApiProblem, error_item, not_found
from leadbill.api.routers.deliveries import batch_outcome, batch_rows
from leadbill.api.schemas import (
    ERRORS,
    BatchOut,
    BulkDecisionIn,
    BulkDecisionOut,
    DecisionIn,
    Problem,
    ReturnBatchIn,
    ReturnIn,
    ReturnOut,
    ReturnPage,
    body,
)
from leadbill.deliveries.importing import ReturnMappingParser
from leadbill.deliveries.models import Return
from leadbill.deliveries.selectors import deliveries_by_external_id, returns_by_ids
from leadbill.deliveries.services import (
    return_accept,
    return_reject,
    return_request,
    returns_decide,
    returns_receive,
)

router = Router(tags=["returns"])


def return_as_dict(ret: Return) -> dict[str, Any]:
    return {
        "id": ret.pk,
        "external_id": ret.delivery.external_id,
        "partner": ret.delivery.partner.code,
        "reason": ret.reason,
        "status": ret.status,
        "requested_at": ret.requested_at,
        "decided_at": ret.decided_at,
        "decided_by": ret.decided_by,
        "decision_note": ret.decision_note,
    }


def _return_for(request: HttpRequest, return_id: int, *scopes: str) -> Return:
    key = require(request, *scopes)
    ret = returns_by_ids([return_id], entity=key.entity).get(return_id) if 0 < return_id < 2**63 else None
    if ret is None:
        raise not_found(f"return {return_id}")
    return ret


@router.post(
    "/returns",
    response={201: ReturnOut, ERRORS: Problem},
    openapi_extra=body(ReturnIn),
    summary="Request the return of a delivered lead",
)
def post_return(request: HttpRequest) -> Status[dict[str, Any]]:
    key = require(request, *INGEST)
    row = ReturnMappingParser().parse(conforming(ReturnIn, json_object(request)))
    delivery = deliveries_by_external_id(key.entity, [row.external_id]).get(row.external_id)
    if delivery is None:
        message = f"no delivery with external_id {row.external_id!r}"
        raise ApiProblem(422, "unknown-delivery", message, errors=[error_item(message, "external_id")])
    delivery.entity = key.entity
    ret = return_request(actor=key.actor, delivery=delivery, reason=row.reason, requested_at=row.requested_at)
    return Status(201, return_as_dict(ret))


@router.post(
    "/returns/batch",
    response={200: BatchOut, ERRORS: Problem},
    openapi_extra=body(ReturnBatchIn, "Up to 10,000 return requests (or decisions made elsewhere, with status). "
                       "Bad rows are reported by index; a replay records nothing new."),
    summary="Request many returns",
)  # fmt: skip
def post_return_batch(request: HttpRequest) -> dict[str, Any]:
    key = require(request, *INGEST)
    payload = json_body(request, fast=True)
    rows, all_or_nothing = batch_rows(payload, "returns")
    if key.scope != Scope.FULL and any(isinstance(row, dict) and row.get("status") for row in rows):
        raise ApiProblem(403, "scope", "rows with a status record decisions; deciding returns needs a full key")
    result = returns_receive(actor=key.actor, entity=key.entity, rows=rows, all_or_nothing=all_or_nothing)
    return batch_outcome(result, "returns", all_or_nothing)


@router.get("/returns", response={200: ReturnPage, ERRORS: Problem}, summary="List returns")
def list_returns(
    request: HttpRequest, status: str | None = None, partner: str | None = None,
    limit: int = DEFAULT_PAGE, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    key = require(request, *FULL)
    qs = Return.objects.filter(entity=key.entity).select_related("delivery", "delivery__partner")
    if status:
        qs = qs.filter(status=status)
    if partner:
        qs = qs.filter(delivery__partner=partner_for(key, partner))
    return keyset_page(qs, limit=limit, cursor=cursor, shape=return_as_dict)


@router.post(
    "/returns/decide", response={200: BulkDecisionOut, ERRORS: Problem}, summary="Accept or reject many returns"
)
def decide_returns(request: HttpRequest, payload: BulkDecisionIn) -> dict[str, Any]:
    key = require(request, *FULL)
    found = returns_by_ids([i for i in payload.ids if 0 < i < 2**63], entity=key.entity)
    missing = [i for i in payload.ids if i not in found]
    result = returns_decide(
        actor=key.actor, returns=[found[i] for i in dict.fromkeys(payload.ids) if i in found],
        accept=payload.decision == "accept", note=payload.note,
    )  # fmt: skip
    return {
        "decided": [return_as_dict(r) for r in result.decided],
        "errors": [{"id": i, "message": f"no return {i}"} for i in missing]
        + [{"id": r.pk, "message": message} for r, message in result.errors],
    }


@router.get("/returns/{return_id}", response={200: ReturnOut, ERRORS: Problem}, summary="Get a return")
def get_return(request: HttpRequest, return_id: int) -> dict[str, Any]:
    return return_as_dict(_return_for(request, return_id, *INGEST))


@router.post("/returns/{return_id}/accept", response={200: ReturnOut, ERRORS: Problem}, summary="Accept a return")
def accept_return(request: HttpRequest, return_id: int, payload: DecisionIn) -> dict[str, Any]:
    ret = _return_for(request, return_id, *FULL)
    return return_as_dict(return_accept(actor=request.auth.actor, ret=ret, note=payload.note))  # type: ignore[attr-defined]


@router.post("/returns/{return_id}/reject", response={200: ReturnOut, ERRORS: Problem}, summary="Reject a return")
def reject_return(request: HttpRequest, return_id: int, payload: DecisionIn) -> dict[str, Any]:
    ret = _return_for(request, return_id, *FULL)
    return return_as_dict(return_reject(actor=request.auth.actor, ret=ret, note=payload.note))  # type: ignore[attr-defined]
