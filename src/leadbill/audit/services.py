"""Recording audit events; callers are services already inside their transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from leadbill.audit.models import AuditEvent
from leadbill.bulk import bulk_insert


def audit_record(*, actor: str, action: str, obj: Any, entity: Any = None, **data: Any) -> AuditEvent:
    """Write one audit row; refuses to run outside a transaction so it shares its fate."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError(f"audit_record({action}) must run inside the write's transaction")
    return AuditEvent.objects.create(
        entity=entity if entity is not None else getattr(obj, "entity", None),
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if hasattr(obj, "_meta") else type(obj).__name__,
        object_id=str(getattr(obj, "pk", obj)),
        data=data,
    )


def audit_record_many(events: list[AuditEvent]) -> None:
    """Write many audit rows at once (a batch of invoices issued in one transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit rows are written inside the write's transaction")
    bulk_insert(events)


def audit_event(*, actor: str, action: str, obj: Any, entity: Any = None, **data: Any) -> AuditEvent:
    """An unsaved audit row for `audit_record_many`."""
    return AuditEvent(
        entity=entity if entity is not None else getattr(obj, "entity", None),
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data,
    )
