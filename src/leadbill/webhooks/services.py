"""Writes of webhooks: endpoints, events from audited writes, and signed deliveries with retries."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadbill.audit.models import AuditEvent
from leadbill.audit.services import audit_record
from leadbill.background import task_named
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.text import field_text
from leadbill.engine.kick import enqueue_on_commit, kick_rows, kicked_at, needs_kick
from leadbill.entities.models import Entity
from leadbill.invoicing.selectors import money as _money
from leadbill.webhooks import signing, targets
from leadbill.webhooks.models import EVENT_TYPES, Attempt, Delivery, DeliveryState, Endpoint, Event

logger = logging.getLogger(__name__)
STALE_SENDING = timedelta(minutes=5)
TIMEOUT_SECONDS = 10
# Audit actions that are webhook events; "payment.recorded" is one only when it pays the invoice.
EVENT_OF_ACTION = {
    "invoice.issued": "invoice.issued",
    "receipt.issued": "invoice.issued",
    "invoice.voided": "invoice.voided",
    "receipt.voided": "invoice.voided",
    "credit_note.issued": "credit_note.issued",
    "partner.low_balance": "partner.low_balance",
    "partner.overdue": "partner.overdue",
    "payout.ready": "payout.ready",
    "self_invoice.issued": "self_invoice.issued",
    "self_invoice.accepted": "self_invoice.accepted",  # by the supplier, or deemed (`deemed: true`)
    "self_invoice.disputed": "self_invoice.disputed",
}


def retry_delays() -> list[int]:
    return list(getattr(settings, "LEADBILL_WEBHOOK_RETRY_DELAYS", [30, 120, 600, 3600, 6 * 3600, 24 * 3600]))


# --- endpoints ---------------------------------------------------------------------------------


def _check_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise DomainError(f"unknown event {unknown[0]!r}; events are {', '.join(EVENT_TYPES)}", field="events")
    return sorted(set(events))


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise DomainError(f"{url!r} is not an http(s) address", field="url")
    if parts.scheme == "http" and not getattr(settings, "LEADBILL_WEBHOOKS_ALLOW_HTTP", settings.DEBUG):
        raise DomainError("webhook addresses must use https (signed bodies still travel in clear over http)",
                          field="url")  # fmt: skip
    targets.check_target(url)  # resolves the host now: public addresses only (see targets)
    return url.strip()


def endpoint_add(
    *, actor: str, entity: Entity, url: str, events: Sequence[str] = (), description: str = ""
) -> Endpoint:
    description = field_text(description, field="description", max_length=200)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(entity=entity, url=_check_url(url), events=_check_events(events),
                                           description=description, secret=signing.new_secret())  # fmt: skip
        audit_record(actor=actor, action="webhook_endpoint.added", obj=endpoint, entity=entity, url=endpoint.url,
                     events=endpoint.events)  # fmt: skip
    return endpoint


def endpoint_set_active(*, actor: str, endpoint: Endpoint, active: bool) -> Endpoint:
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(is_active=active)
        endpoint.is_active = active
        audit_record(actor=actor, action=f"webhook_endpoint.{'enabled' if active else 'disabled'}", obj=endpoint,
                     entity=endpoint.entity)  # fmt: skip
    return endpoint


def endpoint_rotate_secret(*, actor: str, endpoint: Endpoint) -> Endpoint:
    with transaction.atomic():
        endpoint.secret = signing.new_secret()
        endpoint.save(update_fields=["secret"])
        audit_record(actor=actor, action="webhook_endpoint.secret_rotated", obj=endpoint, entity=endpoint.entity)
    return endpoint


# --- events, from the audit rows of the writes they announce ------------------------------------


def _invoice_payload(inv: Any) -> dict[str, Any]:
    c = inv.currency
    return {
        "id": inv.pk, "number": inv.number, "kind": inv.kind, "status": inv.status,
        "partner": {"code": inv.partner.code, "name": inv.partner.name},
        "period": inv.period_key or None, "issue_date": inv.issue_date.isoformat() if inv.issue_date else None,
        "due_date": inv.due_date.isoformat() if inv.due_date else None, "currency": c,
        "subtotal": _money(inv.subtotal_minor, c), "tax": _money(inv.tax_minor, c), "total": _money(inv.total_minor, c),
        "paid": _money(inv.paid_minor, c),
        "balance_due": _money(inv.balance_due_minor, c) if inv.kind == "invoice" else None,
        "corrects": inv.corrects.number if inv.corrects_id else None,
    }  # fmt: skip


def _payload(event_type: str, row: AuditEvent, obj: Any) -> dict[str, Any]:
    if event_type == "partner.low_balance":
        c = row.data.get("currency", "")
        return {"partner": {"code": obj.code, "name": obj.name}, "currency": c,
                "balance": _money(row.data.get("balance_minor"), c),
                "threshold": _money(row.data.get("threshold_minor"), c)}  # fmt: skip
    if event_type == "partner.overdue":
        c = row.data.get("currency", "")
        return {"partner": {"code": obj.code, "name": obj.name}, "invoice": row.data.get("invoice"), "currency": c,
                "open": _money(row.data.get("open_minor"), c), "days_overdue": row.data.get("days_overdue")}  # fmt: skip
    if event_type == "payout.ready":
        from leadbill.payouts.selectors import payout_as_dict

        return payout_as_dict(obj)
    if event_type in ("self_invoice.issued", "self_invoice.accepted", "self_invoice.disputed"):
        from leadbill.selfbilling.selectors import self_billed_as_dict

        payload = self_billed_as_dict(obj)
        if event_type != "self_invoice.issued":
            payload["deemed"] = bool(row.data.get("deemed"))
        return payload
    if hasattr(obj, "number") and hasattr(obj, "total_minor") and hasattr(obj, "partner"):
        payload = _invoice_payload(obj)
        if event_type == "invoice.voided":
            payload["reason"] = row.data.get("reason")
            payload["credit_note"] = row.data.get("credit_note")
        return payload
    return {"object": {"type": row.object_type, "id": row.object_id}, **row.data}


def events_from_audit(pairs: list[tuple[AuditEvent, Any]]) -> None:
    """Subscriber of the audit trail (inside the write's transaction): one event per announced write."""
    wanted = []
    for row, obj in pairs:
        event_type = EVENT_OF_ACTION.get(row.action)
        if row.action == "payment.recorded" and row.data.get("status") == "paid":
            event_type = "invoice.paid"
        if event_type is not None and obj is not None:
            wanted.append((event_type, row, obj))
    if not wanted:
        return
    entity_ids = {row.entity_id for _, row, _ in wanted}
    endpoints = list(Endpoint.objects.filter(entity_id__in=entity_ids, is_active=True))
    if not endpoints:
        return
    events, deliveries = [], []
    now = timezone.now()
    for event_type, row, obj in wanted:
        targets = [e for e in endpoints if e.entity_id == row.entity_id and e.wants(event_type)]
        if not targets:
            continue
        event = Event(entity_id=row.entity_id, type=event_type, payload=_payload(event_type, row, obj), created_at=now)
        events.append(event)
        deliveries += [Delivery(event=event, endpoint=endpoint, next_attempt_at=now) for endpoint in targets]
    Event.objects.bulk_create(events, batch_size=1000)
    Delivery.objects.bulk_create(deliveries, batch_size=1000)
    created = list(Delivery.objects.filter(event__in=events).values_list("pk", flat=True))
    _kick(created)


def _kick(delivery_ids: Sequence[int]) -> None:
    webhook_deliver_task = task_named("webhook_deliver_task")

    kick_rows(webhook_deliver_task, Delivery.objects, list(delivery_ids))


# --- delivering --------------------------------------------------------------------------------


def body_of(event: Event) -> bytes:
    return json.dumps(
        {"id": str(event.id), "type": event.type, "created_at": event.created_at.isoformat(), "data": event.payload},
        separators=(",", ":"), sort_keys=True,
    ).encode()  # fmt: skip


def webhook_deliver(delivery_id: int) -> str:
    """POST one delivery if it is due and nobody holds it; returns its state afterwards."""
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, state=DeliveryState.QUEUED, next_attempt_at__lte=now).update(
        state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    if not claimed:
        return delivery.state
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active:
        Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, last_error="endpoint disabled")
        return DeliveryState.FAILED
    body = body_of(event)
    headers = {"Content-Type": "application/json", "User-Agent": "Leadbill-Webhooks/1", "Leadbill-Event": event.type,
               "Leadbill-Delivery": str(event.id), signing.HEADER: signing.sign(endpoint.secret, body)}  # fmt: skip
    started = time.monotonic()
    status, error = None, ""
    try:
        # resolved and checked again now (DNS may have changed since the endpoint was added); the
        # request goes to the addresses checked here, follows no redirect and reads no body
        status = targets.post(targets.check_target(endpoint.url), body, headers, timeout=TIMEOUT_SECONDS)
    except targets.SEND_ERRORS as exc:
        error = targets.failure_reason(exc)
    else:
        if not 200 <= status < 300:
            error = targets.outcome(status)
    duration = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    delays = retry_delays()
    with transaction.atomic():
        # `response` keeps the outcome in short ("HTTP 200", "timeout"): never the receiver's body
        Attempt.objects.create(delivery=delivery, status=status, error=error, duration_ms=duration,
                               response=error or f"HTTP {status}")  # fmt: skip
        if ok:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.DELIVERED, delivered_at=timezone.now(), last_status=status, last_error=""
            )
            return DeliveryState.DELIVERED
        if delivery.attempts <= len(delays):
            later = timezone.now() + timedelta(seconds=delays[delivery.attempts - 1])
            Delivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.QUEUED, next_attempt_at=later, last_status=status, last_error=error,
                kicked_at=kicked_at(_task(), later),
            )  # fmt: skip
            enqueue_on_commit(_task(), delivery.pk, run_after=later)
            return DeliveryState.QUEUED
        Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, last_status=status, last_error=error)
        return DeliveryState.FAILED


def _task() -> Any:
    return task_named("webhook_deliver_task")


def delivery_retry(*, actor: str, delivery: Delivery) -> Delivery:
    """Send a failed delivery again now (from the console's delivery log)."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if locked.state != DeliveryState.FAILED:
            raise StateError(f"this delivery is {locked.get_state_display().lower()}; only failed ones are retried")
        locked.state, locked.next_attempt_at = DeliveryState.QUEUED, timezone.now()
        locked.save(update_fields=["state", "next_attempt_at"])
        audit_record(actor=actor, action="webhook.redelivered", obj=locked.endpoint, entity=locked.endpoint.entity,
                     event=str(locked.event_id))  # fmt: skip
        _kick([locked.pk])
    return locked


def deliveries_sweep(now: Any = None) -> dict[str, int]:
    """The scheduler's look at webhooks: a stale claim is sent again (same id), due retries are queued."""
    now = now or timezone.now()
    stale = Delivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lt=now - STALE_SENDING).update(
        state=DeliveryState.QUEUED, next_attempt_at=now
    )
    due = list(
        Delivery.objects.filter(state=DeliveryState.QUEUED, next_attempt_at__lte=now)
        .filter(needs_kick(now))
        .values_list("pk", flat=True)[:5000]
    )  # fmt: skip
    if due:
        with transaction.atomic():
            _kick(due)
    return {"requeued": stale, "kicked": len(due)}
