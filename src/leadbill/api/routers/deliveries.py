"""Deliveries pushed as they happen: one at a time, or in batches of up to 10,000."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from leadbill.api.auth import FULL, INGEST, require
from leadbill.api.common import DEFAULT_PAGE, json_body, json_object, keyset_page, partner_for
from leadbill.api.problems import ApiProblem, error_item, not_found, pointer
from leadbill.api.schemas import (
    ERRORS,
    MAX_BATCH,
    BatchOut,
    DeliveryBatchIn,
    DeliveryIn,
    DeliveryOut,
    DeliveryPage,
    Instant,
    Problem,
    body,
)
from leadbill.deliveries.models import Delivery
from leadbill.deliveries.services import ImportResult, deliveries_receive, delivery_record_row
from leadbill.domain.money import micros_to_unit_price

router = Router(tags=["deliveries"])


def delivery_as_dict(d: Delivery) -> dict[str, Any]:
    return {
        "external_id": d.external_id,
        "partner": d.partner.code,
        "profile": d.profile.code if d.profile_id and d.profile else None,
        "lead_type": d.lead_type.code,
        "lead_id": d.lead_id,
        "delivered_at": d.delivered_at,
        "price": str(micros_to_unit_price(d.price_micros)) if d.price_micros is not None else None,
        "currency": d.currency,
        "source": d.source.code if d.source_id and d.source else None,
        "cost": str(micros_to_unit_price(d.cost_micros)) if d.cost_micros is not None else None,
        "fields": d.fields,
        "created_at": d.created_at,
    }


def _deliveries(entity_id: int) -> Any:
    return Delivery.objects.filter(entity_id=entity_id).select_related("partner", "profile", "lead_type", "source")


def batch_outcome(result: ImportResult, rows_key: str, all_or_nothing: bool) -> dict[str, Any]:
    """The answer to a batch; a refused batch (nothing recorded) is a 422 problem instead."""
    errors = [
        {"row": e.row, "field": e.field, "pointer": pointer(rows_key, e.row, *([e.field] if e.field != "row" else [])),
         "message": e.message}
        for e in result.errors
    ]  # fmt: skip
    accepted = result.created + result.already_present + result.decided
    if result.error_count and (result.refused or accepted == 0):
        why = "all_or_nothing is set, so nothing was recorded" if result.refused else "no row could be recorded"
        raise ApiProblem(
            422, "invalid-rows", f"{result.error_count} of {result.rows} rows are bad; {why}",
            errors=[{**e, "field": e["field"]} for e in errors], received=result.rows,
        )  # fmt: skip
    return {
        "received": result.rows,
        "accepted": accepted,
        "created": result.created,
        "already_present": result.already_present,
        "decided": result.decided,
        "rejected": result.error_count,
        "errors": errors,
    }


def batch_rows(payload: Any, rows_key: str) -> tuple[list[Any], bool]:
    """The rows and the all_or_nothing flag of a batch body {rows_key: [...], "all_or_nothing": bool}."""
    if not isinstance(payload, dict):
        raise ApiProblem(422, "invalid", f'the body must be an object {{"{rows_key}": [...]}}',
                         errors=[error_item("expected an object")])  # fmt: skip
    rows = payload.get(rows_key)
    unknown = sorted(k for k in payload if k not in (rows_key, "all_or_nothing"))
    if unknown:
        raise ApiProblem(422, "invalid", f"unknown field(s): {', '.join(unknown)}",
                         errors=[error_item("unknown field", name) for name in unknown])  # fmt: skip
    if not isinstance(rows, list) or not rows:
        message = f"give {rows_key} as a non-empty array"
        raise ApiProblem(422, "invalid", message, errors=[error_item(message, rows_key)])
    if len(rows) > MAX_BATCH:
        raise ApiProblem(
            413, "batch-too-large",
            f"a batch holds at most {MAX_BATCH:,} {rows_key}; this one has {len(rows):,}. Send it in smaller batches.",
            errors=[error_item(f"at most {MAX_BATCH:,} items", rows_key)],
        )  # fmt: skip
    all_or_nothing = payload.get("all_or_nothing", False)
    if not isinstance(all_or_nothing, bool):
        raise ApiProblem(422, "invalid", "all_or_nothing must be true or false",
                         errors=[error_item("expected a boolean", "all_or_nothing")])  # fmt: skip
    return rows, all_or_nothing


@router.post(
    "/deliveries/batch",
    response={200: BatchOut, ERRORS: Problem},
    openapi_extra=body(DeliveryBatchIn, "Up to 10,000 deliveries. Bad rows are reported by index and the others kept, "
                       "unless all_or_nothing. A replay records nothing new: its rows are already present."),
    summary="Record a batch of deliveries",
)  # fmt: skip
def post_batch(request: HttpRequest) -> dict[str, Any]:
    key = require(request, *INGEST)
    payload = json_body(request, fast=True)
    rows, all_or_nothing = batch_rows(payload, "deliveries")
    result = deliveries_receive(actor=key.actor, entity=key.entity, rows=rows, all_or_nothing=all_or_nothing)
    return batch_outcome(result, "deliveries", all_or_nothing)


@router.post(
    "/deliveries",
    response={200: DeliveryOut, 201: DeliveryOut, ERRORS: Problem},
    openapi_extra=body(DeliveryIn),
    summary="Record one delivery (idempotent on external_id)",
)
def post_delivery(request: HttpRequest) -> Status[dict[str, Any]]:
    key = require(request, *INGEST)
    payload = json_object(request, fast=True)  # as the batch reads it, so a replay either way matches
    delivery, created = delivery_record_row(actor=key.actor, entity=key.entity, row=payload)
    delivery = _deliveries(key.entity.pk).get(pk=delivery.pk)
    return Status(201 if created else 200, delivery_as_dict(delivery))


@router.get("/deliveries", response={200: DeliveryPage, ERRORS: Problem}, summary="List deliveries")
def list_deliveries(
    request: HttpRequest, partner: str | None = None, delivered_from: Instant | None = None,
    delivered_to: Instant | None = None, limit: int = DEFAULT_PAGE, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    key = require(request, *FULL)
    qs = _deliveries(key.entity.pk)
    if partner:
        qs = qs.filter(partner=partner_for(key, partner))
    if delivered_from:
        qs = qs.filter(delivered_at__gte=delivered_from)
    if delivered_to:
        qs = qs.filter(delivered_at__lt=delivered_to)
    return keyset_page(qs, limit=limit, cursor=cursor, shape=delivery_as_dict)


@router.get("/deliveries/{external_id}", response={200: DeliveryOut, ERRORS: Problem}, summary="Get a delivery")
def get_delivery(request: HttpRequest, external_id: str) -> dict[str, Any]:
    key = require(request, *INGEST)
    delivery = _deliveries(key.entity.pk).filter(external_id=external_id).first()
    if delivery is None:
        raise not_found(f"delivery {external_id!r}")
    return delivery_as_dict(delivery)
