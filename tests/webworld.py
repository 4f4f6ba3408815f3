"""A business with two buyers, a second business, and a login of every kind, for console and portal tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leadbill.deliveries.models import Delivery, Return
from leadbill.deliveries.services import return_request
from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice, InvoiceRun
from leadbill.invoicing.services import invoice_run_issue, topup_record
from leadbill.partners.models import Partner
from leadbill.web.models import StaffMembership
from leadbill.web.services import partner_user_invite, staff_add
from tests.factories import make_deliveries, make_entity, make_lead_type, make_partner, make_plan

PASSWORD = "orchard-lantern-42"
ACTOR = "test:web"
JAN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Site:
    entity: Entity
    other: Entity
    acme: Partner  # credit buyer, returns allowed within 60 days
    blue: Partner  # prepay buyer
    other_acme: Partner
    acme_invoice: Invoice
    blue_receipt: Invoice
    other_invoice: Invoice
    run: InvoiceRun
    acme_return: Return
    blue_return: Return
    admin_membership: StaffMembership

    def login(self, email: str) -> Client:
        client = Client()
        client.force_login(User.objects.get(username=email))
        return client


STAFF = {"admin": "admin@leadco.test", "finance": "finance@leadco.test", "readonly": "readonly@leadco.test"}
OTHER_ADMIN = "admin@other.test"
ACME_USER = "ap@acme.test"
BLUE_USER = "ap@blue.test"


@pytest.fixture
def site(db) -> Site:
    entity = make_entity(slug="leadco", timezone="UTC", currency="EUR", invoice_prefix="INV-", credit_note_prefix="CN-",
                         default_tax_rate_bp=1900)  # fmt: skip
    lead_type = make_lead_type(entity, "auto")
    acme = make_partner(entity, code="acme", name="Acme Insurance", report_fields=["zip"], return_max_age_days=3650)
    make_plan(acme, config={"price": "2.00"})
    blue = make_partner(entity, code="blue", name="Blue Leads", billing_mode="prepay")
    make_plan(blue, config={"price": "1.50"})
    other = make_entity(slug="other", timezone="UTC", currency="EUR", invoice_prefix="OTH-", credit_note_prefix="OCN-")
    make_lead_type(other, "auto")
    other_acme = make_partner(other, code="acme", name="Other Acme")
    make_plan(other_acme, config={"price": "9.00"})
    acme_leads = make_deliveries(acme, 3, JAN, lead_type=lead_type)
    blue_leads = make_deliveries(blue, 2, JAN, lead_type=lead_type)
    make_deliveries(other_acme, 2, JAN, lead_type=make_lead_type(other, "auto"))
    topup_record(actor=ACTOR, partner=blue, amount_minor=10_000, occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    january = periods.month(2026, 1, "UTC")
    run = invoice_run_issue(actor=ACTOR, entity=entity, period=january, issue_date=date(2026, 2, 1)).run
    invoice_run_issue(actor=ACTOR, entity=other, period=january, issue_date=date(2026, 2, 1))
    now = datetime.now(UTC)
    acme_return = return_request(actor=ACTOR, delivery=acme_leads[0], reason="wrong number", requested_at=now)
    blue.returns_allowed, blue.return_max_age_days = True, 3650
    blue.save()
    blue_return = return_request(actor=ACTOR, delivery=blue_leads[0], reason="duplicate", requested_at=now)
    for role, email in STAFF.items():
        membership = staff_add(actor=ACTOR, entity=entity, email=email, name=role.title(), role=role, password=PASSWORD)
        if role == "admin":
            admin_membership = membership
    staff_add(actor=ACTOR, entity=other, email=OTHER_ADMIN, name="Other", role="admin", password=PASSWORD)
    partner_user_invite(
        actor=ACTOR, partner=acme, email=ACME_USER, name="Ann Acme", main_contact=True, password=PASSWORD
    )
    partner_user_invite(actor=ACTOR, partner=blue, email=BLUE_USER, name="Bo Blue", password=PASSWORD)
    return Site(
        entity=entity, other=other, acme=acme, blue=blue, other_acme=other_acme,
        acme_invoice=Invoice.objects.get(partner=acme, kind="invoice"),
        blue_receipt=Invoice.objects.get(partner=blue, kind="receipt"),
        other_invoice=Invoice.objects.get(partner=other_acme, kind="invoice"), run=run,
        acme_return=acme_return, blue_return=blue_return, admin_membership=admin_membership,
    )  # fmt: skip


def later(days: int) -> datetime:
    return JAN + timedelta(days=days)


__all__ = ["ACME_USER", "BLUE_USER", "OTHER_ADMIN", "PASSWORD", "STAFF", "Delivery", "Site", "later", "site"]
