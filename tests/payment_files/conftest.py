"""Ready payouts of an EUR entity (SEPA) and a USD entity (ACH), for the payment file tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.payment_files import services as pf
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from tests.factories import make_entity, make_partner
from tests.payouts.conftest import world  # noqa: F401  (the payouts tests' supplier and leads)

ACTOR = "test:payment-files"
MONTH = periods.month(2026, 10, "Europe/Berlin")
US_MONTH = periods.month(2026, 10, "America/New_York")
# Valid IBANs of several countries (check digits right), and BICs of real shape.
IBANS = ("DE02120300000000202051", "FR1420041010050500013M02606", "NL91ABNA0417164300", "AT611904300234573201",
         "BE68539007547034", "ES9121000418450200051332")  # fmt: skip
ACH = {
    "immediate_destination": "021000021", "immediate_destination_name": "JPMorgan Chase",
    "immediate_origin": "1234567890", "immediate_origin_name": "Hudson Leads Inc", "company_name": "Hudson Leads",
    "company_id": "1234567890", "odfi_routing": "021000021", "entry_class": "CCD", "entry_description": "PAYOUT",
}  # fmt: skip


def supplier(entity: Entity, code: str, details: dict[str, str], tax_rate: str | None = None) -> Partner:
    partner = make_partner(entity, code=code, name=f"{code.title()} Media", is_buyer=False, is_supplier=True)
    base = {"legal_name": f"{code.title()} Media GmbH", "address_line1": "Weg 1", "postal_code": "50667",
            "city": "Köln", "country": entity.country}  # fmt: skip
    sbs.seller_details_set(actor=ACTOR, partner=partner, details={**base, **details}, tax_rate=tax_rate)
    return partner


def set_bank(partner: Partner, **fields: str) -> None:
    """Bank details written straight to the seller profile (past the service's checks): what a file must catch."""
    profile = partner.seller_profile
    type(profile).objects.filter(pk=profile.pk).update(**fields)


def ready_payout(partner: Partner, amount: str = "100.00", period: periods.Period = MONTH) -> Payout:
    payout = s.payout_create(actor=ACTOR, partner=partner, period=period,
                             lines=[s.ManualLine("Leads in October", 1, Decimal(amount))])  # fmt: skip
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    return s.payout_transition(actor=ACTOR, payout=payout, to="ready")


@dataclass
class Eur:
    entity: Entity
    suppliers: list[Partner]
    payouts: list[Payout]


@pytest.fixture
def eur(db) -> Eur:
    entity = make_entity(slug="nordlicht", legal_name="Nordlicht Leads GmbH", iban="DE89370400440532013000",
                         bic="COBADEFFXXX", currency="EUR")  # fmt: skip
    partners = [supplier(entity, f"sup{i}", {"iban": iban}) for i, iban in enumerate(IBANS[:3])]
    payouts = [ready_payout(p, amount) for p, amount in zip(partners, ("100.00", "250.55", "0.01"), strict=True)]
    return Eur(entity, partners, payouts)


@dataclass
class Usd:
    entity: Entity
    suppliers: list[Partner]
    payouts: list[Payout]


@pytest.fixture
def usd(db) -> Usd:
    entity = make_entity(slug="hudson", legal_name="Hudson Leads Inc", country="US", currency="USD",
                         timezone="America/New_York", tax_id="", postal_code="10001", city="New York")  # fmt: skip
    pf.ach_originator_set(actor=ACTOR, entity=entity, values=ACH)
    details = [{"routing_number": "011000015", "account_number": "12345678"},
               {"routing_number": "121000358", "account_number": "0009876543210"}]  # fmt: skip
    partners = [supplier(entity, f"us{i}", {**d, "tax_id": ""}) for i, d in enumerate(details)]
    payouts = [ready_payout(p, amount, US_MONTH) for p, amount in zip(partners, ("1234.56", "99.99"), strict=True)]
    return Usd(entity, partners, payouts)
