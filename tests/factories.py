"""Factories for tests: small functions with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from leadbill.catalog.models import LeadType, PricePlan
from leadbill.catalog.services import price_plan_set
from leadbill.deliveries.models import Delivery
from leadbill.domain.money import unit_price_to_micros
from leadbill.entities.models import Entity, NumberSeries
from leadbill.partners.models import Partner, Profile

_seq = itertools.count(1)
ACTOR = "test:factory"


def make_entity(**kw: Any) -> Entity:
    n = next(_seq)
    fields: dict[str, Any] = {
        "slug": f"entity-{n}",
        "legal_name": f"Leads Unit {n} Ltd",
        "address_line1": "1 Market Street",
        "postal_code": "10115",
        "city": "Berlin",
        "country": "DE",
        "tax_id": "DE123456788",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "invoice_prefix": f"E{n}-",
        "credit_note_prefix": f"E{n}-CN-",
        "default_payment_terms_days": 30,
        "default_tax_rate_bp": 0,
    }
    fields.update(kw)
    entity = Entity.objects.create(**fields)
    from leadbill.entities.services import ensure_series

    ensure_series(entity)
    return entity


def make_partner(entity: Entity, **kw: Any) -> Partner:
    n = next(_seq)
    fields: dict[str, Any] = {
        "code": f"buyer-{n}",
        "name": f"Buyer {n} GmbH",
        "contact_name": "Pat Buyer",
        "contact_email": f"billing{n}@buyer.example",
        "billing_emails": [f"ap{n}@buyer.example"],
        "address_line1": "2 Side Road",
        "postal_code": "20095",
        "city": "Hamburg",
        "country": "DE",
        "currency": entity.currency,
    }
    fields.update(kw)
    return Partner.objects.create(entity=entity, **fields)


def make_profile(partner: Partner, **kw: Any) -> Profile:
    n = next(_seq)
    return Profile.objects.create(partner=partner, **{"code": f"campaign-{n}", "name": f"Campaign {n}", **kw})


def make_lead_type(entity: Entity, code: str = "auto", **kw: Any) -> LeadType:
    lt, _ = LeadType.objects.get_or_create(entity=entity, code=code, defaults={"name": code.title(), **kw})
    return lt


def make_plan(
    partner: Partner,
    model: str = "flat",
    config: dict[str, Any] | None = None,
    *,
    effective_from: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    **kw: Any,
) -> PricePlan:
    plan, _ = price_plan_set(
        actor=ACTOR,
        partner=partner,
        model=model,
        config=config if config is not None else {"price": "2.00"},
        effective_from=effective_from,
        **kw,
    )
    return plan


TIERS_2_150_1 = [
    {"up_to": 100, "price": "2.00"},
    {"up_to": 300, "price": "1.50"},
    {"up_to": None, "price": "1.00"},
]


def make_delivery(partner: Partner, delivered_at: datetime, **kw: Any) -> Delivery:
    n = next(_seq)
    price = kw.pop("price", None)
    lead_type = kw.pop("lead_type", None) or make_lead_type(partner.entity)
    fields: dict[str, Any] = {
        "entity_id": partner.entity_id,
        "external_id": f"d-{n}",
        "lead_id": f"lead-{n}",
        "currency": partner.currency,
        "price_micros": unit_price_to_micros(Decimal(price)) if price is not None else None,
    }
    fields.update(kw)
    delivery = Delivery.objects.create(partner=partner, lead_type=lead_type, delivered_at=delivered_at, **fields)
    summarise([delivery])
    return delivery


def summarise(deliveries: Sequence[Delivery]) -> None:
    """Count deliveries a test wrote (or whose returns it wrote) directly in the billing summary,
    as the services do for theirs: their partner-days recounted, and the repeats among them."""
    from leadbill.deliveries import summary
    from leadbill.entities.models import Entity

    by_entity: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_entity.setdefault(delivery.entity_id, []).append(delivery)
    for entity_id, rows in by_entity.items():
        tz = Entity.objects.values_list("timezone", flat=True).get(pk=entity_id)
        ids = ", ".join(str(d.pk) for d in rows)
        summary.refresh(entity_id, tz, ids)


def make_deliveries(partner: Partner, count: int, start: datetime, step_seconds: int = 60, **kw: Any) -> list[Delivery]:
    from datetime import timedelta

    lead_type = kw.pop("lead_type", None) or make_lead_type(partner.entity)
    rows = []
    for i in range(count):
        n = next(_seq)
        price = kw.get("price")
        rows.append(
            Delivery(
                entity_id=partner.entity_id,
                partner=partner,
                lead_type=lead_type,
                profile=kw.get("profile"),
                external_id=f"d-{n}",
                lead_id=f"lead-{n}",
                delivered_at=start + timedelta(seconds=i * step_seconds),
                currency=kw.get("currency", partner.currency),
                price_micros=unit_price_to_micros(Decimal(price)) if price is not None else None,
            )
        )
    created = Delivery.objects.bulk_create(rows)
    summarise(created)
    return created


def series_of(entity: Entity) -> list[NumberSeries]:
    return list(NumberSeries.objects.filter(entity=entity).order_by("series"))
