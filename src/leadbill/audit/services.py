"""Recording audit events; callers are services already inside their transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from leadbill.audit.models import AuditEvent
from leadbill.bulk import bulk_insert

Subscriber = Callable[[list[tuple[AuditEvent, Any]]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call `subscriber` with each batch of audit rows and their objects, inside the write's transaction.

    This is how webhook events (`leadbill.webhooks`) come to exist exactly when, and only
    if, the write they announce commits: every write that matters already records an
    audit row in its transaction.
    """
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def _publish(pairs: list[tuple[AuditEvent, Any]]) -> None:
    for subscriber in _subscribers:
        subscriber(pairs)


def audit_record(*, actor: str, action: str, obj: Any, entity: Any = None, **data: Any) -> AuditEvent:
    """Write one audit row; refuses to run outside a transaction so it shares its fate."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError(f"audit_record({action}) must run inside the write's transaction")
    row = AuditEvent.objects.create(
        entity=entity if entity is not None else getattr(obj, "entity", None),
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if hasattr(obj, "_meta") else type(obj).__name__,
        object_id=str(getattr(obj, "pk", obj)),
        data=data,
    )
    _publish([(row, obj)])
    return row


def audit_record_many(events: list[AuditEvent]) -> None:
    """Write many audit rows at once (a batch of invoices issued in one transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit rows are written inside the write's transaction")
    bulk_insert(events)
    _publish([(event, getattr(event, "subject", None)) for event in events])


def audit_event(*, actor: str, action: str, obj: Any, entity: Any = None, **data: Any) -> AuditEvent:
    """An unsaved audit row for `audit_record_many`; it keeps its object for the subscribers."""
    event = AuditEvent(
        entity=entity if entity is not None else getattr(obj, "entity", None),
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data,
    )
    event.subject = obj  # type: ignore[attr-defined]
    return event
