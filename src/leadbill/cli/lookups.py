"""Resolving the names users type (entity slug, partner code, period) to objects."""

from __future__ import annotations

from datetime import date

from leadbill.cli.main import CommandError
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.domain.money import decimal_to_minor, parse_decimal
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner


def entity_of(slug: str | None) -> Entity:
    if slug:
        try:
            return Entity.objects.get(slug=slug)
        except Entity.DoesNotExist:
            known = ", ".join(Entity.objects.values_list("slug", flat=True)) or "none loaded yet"
            raise CommandError(f"unknown entity {slug!r} (known: {known})") from None
    entities = list(Entity.objects.order_by("slug")[:21])
    if len(entities) == 1:
        return entities[0]
    if not entities:
        raise CommandError("no entity yet: run `leadbill load setup.yaml` first")
    known = ", ".join(e.slug for e in entities[:20]) + (", ..." if len(entities) > 20 else "")
    raise CommandError(f"there are several entities: give --entity SLUG ({known})")


def partner_of(entity: Entity, code: str) -> Partner:
    try:
        return Partner.objects.select_related("entity").get(entity=entity, code=code)
    except Partner.DoesNotExist:
        raise CommandError(f"unknown partner {code!r} in entity {entity.slug}") from None


def period_of(entity: Entity, text: str | None) -> periods.Period:
    """A period in the entity's time zone; default: last month."""
    if text:
        try:
            return periods.parse(text, entity.timezone)
        except DomainError as exc:
            raise CommandError(f"period {text!r}: {exc}") from None
    from leadbill.invoicing.services import today_in

    this_month = periods.month(today_in(entity).year, today_in(entity).month, entity.timezone)
    return this_month.previous()


def amount_minor(text: str, currency: str, field: str = "amount") -> int:
    try:
        return decimal_to_minor(parse_decimal(text, field=field), currency, field=field)
    except DomainError as exc:
        raise CommandError(str(exc)) from None


def day_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from None


__all__ = ["amount_minor", "day_of", "entity_of", "partner_of", "period_of"]
