"""A supplier disputes a wrong self-invoice in the portal, staff approve the payout again, and it accepts the new one.

Headless Chromium against the live server. The entity gives 5 days to accept and pays only
accepted self-invoices; the shots (LEADBILL_SCREENSHOTS) are the acceptance step as both sides see it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from leadbill.partners.models import Partner
from leadbill.payouts import services as payouts
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.web.services import partner_user_invite, staff_add
from tests.browser.conftest import ACTOR, PASSWORD, SLUG, sign_in, snap

pytestmark = pytest.mark.browser

SUPPLIER = "quotewise-affiliates"  # a supplier of the demo set-up: San Francisco, CA
OWNER = "jordan@quotewise.example"
ADMIN = "admin@browser.leadbill.test"
DETAILS = {
    "legal_name": "Quotewise Affiliates LLC", "address_line1": "9 Affiliate Way", "postal_code": "94105",
    "city": "San Francisco", "region": "CA", "country": "US", "tax_id": "12-3456789",
    "email": "payouts@quotewise-affiliates.example", "routing_number": "021000021", "account_number": "000123456789",
    "peppol_id": "0060:987654321",
}  # fmt: skip


def test_a_supplier_disputes_a_self_invoice_then_accepts_the_corrected_one(new_page, world, shoot):
    entity = world.entity
    sbs.self_billing_switch(actor=ACTOR, entity=entity, on=True)
    sbs.self_billing_terms_set(actor=ACTOR, entity=entity, acceptance_days="5", require_acceptance=True)
    supplier = Partner.objects.get(entity=entity, code=SUPPLIER)
    sbs.seller_details_set(actor=ACTOR, partner=supplier, details=DETAILS, tax_rate="7.5")
    signer = sbs.Signer(email=OWNER, is_main_contact=True, address="198.51.100.23")
    sbs.self_billing_opt_in(actor=ACTOR, partner=supplier, signer=signer, accepted=True, days=5)
    payout = payouts.payout_create(actor=ACTOR, partner=supplier, period=world.last,
                                   lines=[payouts.ManualLine("Leads supplied \u2014 Auto insurance", 4549,
                                                             Decimal("0.90"))])  # fmt: skip
    payouts.payout_transition(actor=ACTOR, payout=payout, to="pending")
    payouts.payout_transition(actor=ACTOR, payout=payout, to="ready")
    first = SelfBilledDocument.objects.get(payout=payout)
    partner_user_invite(actor=ACTOR, partner=supplier, email=OWNER, name="Jordan Lee", main_contact=True,
                        password=PASSWORD)  # fmt: skip

    # the supplier is told a self-invoice awaits its acceptance, and opens it
    page = new_page()
    sign_in(page, OWNER)
    page.goto("/portal/payouts/")
    expect(page.get_by_role("status")).to_contain_text("1 self-billed document awaits your acceptance")
    row = page.get_by_role("row").filter(has_text=world.last.key)
    expect(row).to_contain_text("1 to accept")
    shoot(page, "portal-payouts-acceptance")
    row.get_by_role("link", name=world.last.key).click()
    item = page.locator("li.acceptance")
    expect(item).to_contain_text("Awaiting your acceptance")
    expect(item).to_contain_text("Deemed accepted on")
    expect(page.get_by_role("button", name=f"Accept {first.number}")).to_be_visible()
    shoot(page, "portal-self-invoice-acceptance")

    # it disputes it: a reason is needed, and the self-invoice is cancelled by a credit note
    page.locator("summary", has_text=first.number).click()
    reason = page.get_by_label("What is wrong with it?")
    reason.fill("We supplied 4,459 leads in the period, not 4,549.")
    snap(page, "portal-self-invoice-dispute")
    page.get_by_role("button", name=f"Dispute {first.number}").click()
    expect(page.locator(".messages")).to_contain_text(f"You disputed {first.number}")
    expect(page.locator(".notice.warn").first).to_contain_text("Back for review")
    reversal = SelfBilledDocument.objects.get(corrects=first)
    expect(page.locator("body")).to_contain_text(reversal.number)
    snap(page, "portal-self-invoice-disputed")

    # staff see the dispute on the payout, correct the line and approve it again
    staff_add(actor=ACTOR, entity=entity, email=ADMIN, name="Ada Admin", role="admin", password=PASSWORD)
    console = new_page()
    sign_in(console, ADMIN)
    console.goto(f"/console/{SLUG}/payouts/{payout.pk}/")
    expect(console.locator("#review-reason")).to_contain_text("not 4,549")
    expect(console.locator("td .badge.bad", has_text="disputed")).to_be_visible()
    shoot(console, "console-payout-disputed")
    payout.lines.update(quantity=4459, amount_minor=401310)
    Payout.objects.filter(pk=payout.pk).update(amount_minor=401310, total_minor=401310)
    payouts.payout_transition(actor=ADMIN, payout=Payout.objects.get(pk=payout.pk), to="ready")
    corrected = SelfBilledDocument.objects.filter(payout=payout).live().get()
    console.goto(f"/console/{SLUG}/payouts/{payout.pk}/")
    expect(console.locator("#pay-blockers")).to_contain_text(f"{corrected.number} awaits the supplier's acceptance")
    shoot(console, "console-payout-awaiting-acceptance")

    # the supplier accepts the corrected one; staff may pay
    page.goto(f"/portal/payouts/{payout.pk}/")
    page.get_by_role("button", name=f"Accept {corrected.number}").click()
    expect(page.locator(".messages")).to_contain_text(f"You accepted {corrected.number}.")
    expect(page.locator(f"#doc-{corrected.number.lower()}")).to_contain_text(f"Accepted by {OWNER}")
    snap(page, "portal-self-invoice-accepted")
    console.goto(f"/console/{SLUG}/payouts/{payout.pk}/")
    expect(console.locator("#pay-blockers")).to_have_count(0)
    console.goto(f"/console/{SLUG}/self-billing/")
    expect(console.get_by_label("Days to accept or dispute")).to_have_value("5")
    shoot(console, "console-self-billing-terms")
