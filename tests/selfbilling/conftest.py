"""The payouts tests' world (an entity, a buyer, a supplier and 30 October leads), for the self-billing tests."""

from __future__ import annotations

import pytest

from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.webhooks.models import Endpoint
from tests.payouts.conftest import ACTOR, World, compute, opt_in, ready, world  # noqa: F401  (world: a fixture)


def self_invoiced(world: World, *, days: int = 5, require: bool = False) -> SelfBilledDocument:
    """The entity's terms set, the supplier opted in under them, and October's payout ready: its self-invoice."""
    sbs.self_billing_terms_set(actor=ACTOR, entity=world.entity, acceptance_days=days, require_acceptance=require)
    opt_in(world)
    payout = ready(compute(world))
    return SelfBilledDocument.objects.get(payout=payout, role="invoice")


@pytest.fixture
def hooks(world: World) -> Endpoint:
    """An endpoint of the entity that wants the acceptance events (made directly: no address is resolved)."""
    return Endpoint.objects.create(entity=world.entity, url="https://hooks.example/leadbill", secret="s",
                                   events=["self_invoice.accepted", "self_invoice.disputed"])  # fmt: skip
