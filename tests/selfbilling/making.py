"""Self-invoices made under set acceptance terms, and a webhook endpoint that wants the acceptance events."""

from __future__ import annotations

from leadbill.entities.models import Entity
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.webhooks.models import Endpoint
from tests.payouts.conftest import ACTOR, World, compute, opt_in, ready

OWNER = sbs.Decider(by="owner@leadgarden.example", via="portal", address="203.0.113.7")


def self_invoiced(world: World, *, days: int = 5, require: bool = False, period=None) -> SelfBilledDocument:
    """The entity's terms set, the supplier opted in under them, and the payout made ready: its self-invoice."""
    sbs.self_billing_terms_set(actor=ACTOR, entity=world.entity, acceptance_days=days, require_acceptance=require)
    opt_in(world)
    payout = ready(compute(world) if period is None else compute(world, period))
    return SelfBilledDocument.objects.get(payout=payout, role="invoice")


def hooks(entity: Entity) -> Endpoint:
    """An endpoint of the entity that wants the acceptance events (made directly: no address is resolved)."""
    return Endpoint.objects.create(entity=entity, url="https://hooks.example/leadbill", secret="s",
                                   events=["self_invoice.accepted", "self_invoice.disputed"])  # fmt: skip


__all__ = ["ACTOR", "OWNER", "hooks", "self_invoiced"]
