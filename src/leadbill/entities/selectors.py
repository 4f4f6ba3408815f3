"""Reads about an entity that every app needs."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from leadbill.domain.periods import zone
from leadbill.entities.models import Entity


def today_in(entity: Entity) -> date:
    """Today in the entity's own time zone: the date its documents, payments and ledger entries carry.

    The server's date (UTC) is the wrong day for an entity in Tokyo before 09:00 or in
    Los Angeles after 16:00; a statement would date a refund or a write-off a day off.
    """
    return timezone.now().astimezone(zone(entity.timezone)).date()
