"""Staff set the acceptance terms, see each self-invoice's acceptance, and pay only accepted ones if required."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

from leadbill.entities.models import Entity
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from tests.console.test_payouts import OCTOBER, move, url
from tests.payouts.conftest import World, make_supplier, supply
from tests.selfbilling.making import OWNER, self_invoiced
from tests.webworld import STAFF, Site

TERMS = "/console/leadco/self-billing/terms/"


@pytest.fixture
def world(site: Site) -> World:
    supplier = make_supplier(site.entity)
    leads = supply(supplier, site.acme, 4, datetime(2026, 10, 5, 9, tzinfo=UTC))
    return World(site.entity, site.acme, supplier, leads)


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_an_admin_sets_the_period_and_the_pay_rule_with_errors_named_and_input_kept(site: Site):
    admin, finance = site.login(STAFF["admin"]), site.login(STAFF["finance"])
    page = text(admin.get("/console/leadco/self-billing/"))
    assert "Acceptance of each self-invoice" in page and 'value="14"' in page  # the default period
    refused = admin.post(TERMS, {"acceptance_days": "120", "require_acceptance": "on"})
    assert refused.status_code == 400
    assert "a whole number of days from 1 to 90" in text(refused) and 'value="120"' in text(refused)
    assert 'id="require_acceptance" checked' in text(refused)  # the box stays as it was sent
    saved = admin.post(TERMS, {"acceptance_days": "5", "require_acceptance": "on"}, follow=True)
    assert "5 days to accept or dispute each self-invoice; payouts wait for acceptance" in text(saved)
    entity = Entity.objects.get(pk=site.entity.pk)
    assert (entity.self_billing_acceptance_days, entity.self_billing_require_acceptance) == (5, True)
    assert finance.post(TERMS, {"acceptance_days": "7"}).status_code == 403  # admins only
    assert "Only an admin can change this." in text(finance.get("/console/leadco/self-billing/"))


def test_a_payout_waits_for_acceptance_when_required_and_the_page_says_why(site: Site, world: World):
    finance = site.login(STAFF["finance"])
    doc = self_invoiced(world, days=5, require=True, period=OCTOBER)
    payout = doc.payout
    page = text(finance.get(url(f"{payout.pk}/")))
    assert "Supplier's acceptance" in page and "awaiting acceptance" in page and "Not payable yet" in page
    refused = text(move(finance, payout, "paid", reference="SEPA 1", paid_on="2026-11-10"))
    assert f"pays only accepted self-invoices, and {doc.number} awaits the supplier's acceptance" in refused
    assert Payout.objects.get(pk=payout.pk).status == "ready"
    sbs.self_invoice_accept(actor="portal:owner", doc=doc, decider=OWNER)
    page = text(finance.get(url(f"{payout.pk}/")))
    assert "Not payable yet" not in page and "owner@leadgarden.example</span> (portal, from 203.0.113.7)" in page
    assert "is paid." in text(move(finance, payout, "paid", reference="SEPA 1", paid_on="2026-11-10"))


def test_staff_see_a_dispute_its_reason_and_the_payout_back_for_review(site: Site, world: World):
    finance = site.login(STAFF["finance"])
    doc = self_invoiced(world, period=OCTOBER)
    sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="Four leads were duplicates")
    page = text(finance.get(url(f"{doc.payout_id}/")))
    assert "Back for review:" in page and "Four leads were duplicates" in page
    reversal = SelfBilledDocument.objects.get(corrects=doc)
    assert reversal.number in page and "not asked (a reversal)" in page and ">disputed<" in page
    assert "self_invoice.disputed" in page and "payout.back_to_review" in page  # the audit trail
    approved = text(move(finance, doc.payout, "ready"))
    corrected = SelfBilledDocument.objects.filter(payout=doc.payout).live().get()
    assert corrected.number in approved and "Back for review:" not in text(finance.get(url(f"{doc.payout_id}/")))
