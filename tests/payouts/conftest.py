"""A supplier, a buyer and the leads between them, for the payouts and self-billing tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadbill.deliveries.models import Delivery
from leadbill.documents.assets import asset_store
from leadbill.domain import periods
from leadbill.domain.money import unit_price_to_micros
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.payouts import services as s
from leadbill.selfbilling import services as sbs
from tests.factories import make_deliveries, make_entity, make_lead_type, make_partner, make_plan

ACTOR = "test:payouts"
OCTOBER = periods.month(2026, 10, "Europe/Berlin")
NOVEMBER = periods.month(2026, 11, "Europe/Berlin")
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><rect width="40" height="40" fill="#c2410c"/>'
    b'<text x="48" y="28" font-family="Source Sans Pro" font-size="20">Lead Garden</text></svg>'
)
COMPLETE = {
    "legal_name": "Lead Garden GmbH", "address_line1": "Gartenstraße 5", "postal_code": "50667", "city": "Köln",
    "country": "DE", "tax_id": "DE287654324", "email": "payouts@leadgarden.example", "iban": "DE02120300000000202051",
}  # fmt: skip
MAIN = sbs.Signer(email="owner@leadgarden.example", is_main_contact=True, address="203.0.113.7", user_agent="pytest")


@dataclass
class World:
    entity: Entity
    buyer: Partner
    supplier: Partner
    leads: list[Delivery]  # 30 October leads the supplier sold us: 25 on the buy plan, 5 at recorded cost 6.50


def supply(supplier: Partner, buyer: Partner, count: int, start: datetime, cost: str | None = None) -> list[Delivery]:
    """`count` leads delivered to `buyer` that were bought from `supplier` (optionally at a recorded cost)."""
    leads = make_deliveries(buyer, count, start)
    Delivery.objects.filter(pk__in=[d.pk for d in leads]).update(
        source=supplier, cost_micros=unit_price_to_micros(Decimal(cost)) if cost else None
    )
    return list(Delivery.objects.filter(pk__in=[d.pk for d in leads]).order_by("delivered_at", "pk"))


def make_supplier(entity: Entity, code: str = "lead-garden", **kw) -> Partner:
    supplier = make_partner(entity, code=code, name=kw.pop("name", "Lead Garden"), is_buyer=False, is_supplier=True,
                            **kw)  # fmt: skip
    make_plan(supplier, "flat", {"price": "4.00"}, side="buy")
    return supplier


@pytest.fixture
def world(db) -> World:
    entity = make_entity(
        slug="nordlicht", legal_name="Nordlicht Leads GmbH", address_line1="Jungfernstieg 1", postal_code="20354",
        city="Hamburg", tax_id="DE811223345", email="billing@nordlicht.example", iban="DE89370400440532013000",
        currency="EUR", timezone="Europe/Berlin", invoice_prefix="NL-", credit_note_prefix="NL-GS-",
        default_tax_rate_bp=1900,
    )  # fmt: skip
    make_lead_type(entity, "auto", name="Car insurance")
    buyer = make_partner(entity, code="elbe", name="Elbe Versicherung AG", tax_id="DE665412091")
    make_plan(buyer, "flat", {"price": "10.00"})
    supplier = make_supplier(entity)
    leads = supply(supplier, buyer, 25, datetime(2026, 10, 5, 9, tzinfo=UTC))
    leads += supply(supplier, buyer, 5, datetime(2026, 10, 20, 9, tzinfo=UTC), cost="6.50")
    return World(entity, buyer, supplier, leads)


def opt_in(world: World, details: dict | None = None, *, tax_rate: str | None = "19", switch: bool = True) -> None:
    """The entity offers self-billing and the partner's main contact opts in with its details."""
    if switch:
        sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    world.entity.refresh_from_db()
    world.supplier.refresh_from_db()
    sbs.seller_details_set(
        actor=ACTOR, partner=world.supplier, details=COMPLETE if details is None else details, tax_rate=tax_rate,
        footer="Lead Garden GmbH · Amtsgericht Köln HRB 4711 · Geschäftsführerin Ada Gärtner",
        logo=(LOGO, "image/svg+xml"),
    )  # fmt: skip
    sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True)


def ready(payout, actor: str = ACTOR):
    """Through review to ready, as finance does."""
    s.payout_transition(actor=actor, payout=payout, to="pending")
    return s.payout_transition(actor=actor, payout=payout, to="ready")


def compute(world: World, period=OCTOBER):
    result = s.payout_compute(
        actor=ACTOR, entity=world.entity, period=period, partners=[world.supplier], allow_open_period=True
    )
    return (result.created + result.refreshed)[0]


__all__ = ["ACTOR", "COMPLETE", "LOGO", "MAIN", "NOVEMBER", "OCTOBER", "asset_store"]
